/**
 * A user's list of factors: adding one (the first enables MFA, exactly as
 * confirming an enrollment always did), listing, renaming and removing
 * (removing the last is `disable`). Every add or removal moves the factor
 * epoch, so every step-up grant issued before dies.
 */
import { MfaError } from '../errors.ts';
import type { FactorRecord, MfaRecord } from '../stores/types.ts';
import { assertUserId, type Decision, type ServiceContext } from './context.ts';
import { forgetAllEvents } from './devices.ts';
import type { MfaEvent } from './events.ts';
import { checkLabel, describeFactor } from './factors/factor.ts';
import { activeLock, lockedResult } from './lock.ts';
import { withProof } from './proof.ts';
import { clearLock, isEnabled, resetFactors, withChanges } from './record.ts';
import { hashCodes, installCodeSet, type NewCodeSet } from './recovery-code-set.ts';
import type { LockedFailure, ListFactorsResult, Proof, ProofFailureResult, RemoveFactorResult, RenameFactorResult } from './results.ts';

/** A factor added to the record, and what the caller must do once it is committed. */
export interface FactorAdded {
  write: MfaRecord;
  events: MfaEvent[];
  /** When this was the first factor: the new code set's hashes and generation, for the store's replace after the commit. */
  codes: { hashes: string[]; generation: number } | null;
}

/**
 * `factor` added to `record`. The first factor enables MFA: a fresh
 * recovery-code set (revealable once), `mfa.enabled`, every open challenge
 * and pending email recovery dead, the failure counters cleared.
 */
export function addFactor(ctx: ServiceContext, userId: string, record: MfaRecord, factor: FactorRecord, now: number, set: NewCodeSet): FactorAdded {
  const events: MfaEvent[] = [];
  let write: MfaRecord = withChanges(record, { factors: [...record.factors, factor], factorEpoch: record.factorEpoch + 1 });
  let codes: FactorAdded['codes'] = null;
  if (!isEnabled(record)) {
    const generation = record.recoveryCodeGeneration + 1;
    codes = { hashes: hashCodes(ctx, userId, set.setId, set.codes), generation };
    write = withChanges(clearLock(write), {
      enabledAt: now,
      ...installCodeSet(ctx, userId, set, generation, now),
      challengeEpoch: record.challengeEpoch + 1,
      spentChallenges: [],
      emailRecovery: null,
    });
    events.push({ type: 'mfa.enabled', userId, at: now });
  }
  events.push({ type: 'factor.added', userId, at: now, factorId: factor.id, kind: factor.kind });
  return { write, events, codes };
}

/**
 * The add-a-factor rule (DESIGN §6.1): a user who holds no factor adds the
 * first without a proof (the host re-checked the password); a user who holds
 * one must present a proof (a step-up grant or a code; a wrong code counts
 * towards the lockout), else `proof_required`: a stolen session alone can
 * never add the thief's factor. `refuse` answers first whatever the proof
 * (e.g. "already has an app"); `start` makes the change, in the same write as
 * the proof's own effects.
 */
export async function withAddFactorProof<T extends { ok: boolean }>(
  ctx: ServiceContext,
  userId: string,
  proof: Proof | undefined,
  refuse: (record: MfaRecord) => T | null,
  start: (record: MfaRecord, now: number) => Decision<T> | Promise<Decision<T>>,
): Promise<T | ProofFailureResult | LockedFailure | { ok: false; reason: 'proof_required' | 'challenge_invalid' }> {
  type Outcome = T | LockedFailure | { ok: false; reason: 'proof_required' };
  const current = proof === undefined ? null : await ctx.read(userId);
  if (proof === undefined || !current || !isEnabled(current.record)) {
    // No proof, or none needed: the first factor. Decided again in the write, so a factor added meanwhile is seen.
    return ctx.update<Outcome>(userId, (record, now) => {
      const lock = activeLock(record, now);
      if (lock) return { write: null, result: lockedResult(lock) };
      const refused = refuse(record);
      if (refused !== null) return { write: null, result: refused };
      if (isEnabled(record)) return { write: null, result: { ok: false, reason: 'proof_required' } };
      return start(record, now);
    });
  }
  return withProof<T>(ctx, userId, proof, 'add_factor', null, {
    onSuccess: (record, now) => {
      const refused = refuse(record);
      return refused !== null ? { write: record, result: refused } : start(record, now);
    },
  });
}

/** `MfaService.listFactors`: never a secret or a key. */
export async function listFactors(ctx: ServiceContext, userId: string): Promise<ListFactorsResult> {
  assertUserId(userId);
  const record = (await ctx.read(userId))?.record;
  return record ? record.factors.map(describeFactor) : [];
}

/** `MfaService.renameFactor`. */
export async function renameFactor(ctx: ServiceContext, userId: string, factorId: string, label: string): Promise<RenameFactorResult> {
  assertUserId(userId);
  const name = checkLabel(label);
  if (name === null) throw new MfaError('invalid_argument', 'label must be 1 to 64 characters without control characters');
  return ctx.update<RenameFactorResult>(userId, (record) => {
    const factor = typeof factorId === 'string' ? record.factors.find((f) => f.id === factorId) : undefined;
    if (factor === undefined) return { write: null, result: { ok: false, reason: 'not_found' } };
    if (factor.label === name) return { write: null, result: { ok: true } };
    return { write: withChanges(record, { factors: record.factors.map((f) => (f.id === factorId ? { ...f, label: name } : f)) }), result: { ok: true } };
  });
}

/**
 * `MfaService.removeFactor`: after a proof (a step-up grant, or a code).
 * Removing the last factor is `disable`: codes and a pending email recovery
 * go, and the user is `registered`.
 */
export async function removeFactor(ctx: ServiceContext, userId: string, factorId: string, proof: Proof): Promise<RemoveFactorResult> {
  assertUserId(userId);
  let clearCodes = false;
  return withProof<RemoveFactorResult>(ctx, userId, proof, 'remove_factor', null, {
    onSuccess: (record, now, { method }) => {
      clearCodes = false;
      const factor = typeof factorId === 'string' ? record.factors.find((f) => f.id === factorId) : undefined;
      // The proof's own effects (a spent step, a counter) are still written.
      if (factor === undefined) return { write: record, result: { ok: false, reason: 'not_found' } };
      const events: MfaEvent[] = [{ type: 'factor.removed', userId, at: now, factorId: factor.id, kind: factor.kind }];
      if (record.factors.length === 1) {
        clearCodes = true;
        events.push({ type: 'mfa.disabled', userId, at: now, method }, ...forgetAllEvents(record, userId, now, 'mfa_disabled'));
        if (record.emailRecovery?.status === 'pending' && record.emailRecovery.expiresAt > now) {
          events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'mfa_disabled' });
        }
        return { write: resetFactors(record), result: { ok: true, state: 'registered', method }, events };
      }
      // A browser remembered while the removed factor was there may have been remembered through it.
      events.push(...forgetAllEvents(record, userId, now, 'factor_removed'));
      return {
        write: withChanges(record, { factors: record.factors.filter((f) => f.id !== factor.id), factorEpoch: record.factorEpoch + 1, devices: [] }),
        result: { ok: true, state: 'enabled', method },
        events,
      };
    },
    afterCommit: async () => {
      if (clearCodes) await ctx.codes.clear(userId);
    },
  }) as Promise<RemoveFactorResult>;
}
