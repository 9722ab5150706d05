/**
 * Key rotation: which root keys a record still needs, and moving what can
 * be moved to the current key. Sealed values (TOTP secrets, pending ones,
 * an unrevealed code set) carry their key id in their header; the live
 * recovery-code set's hashes carry theirs in `recoveryCodeKeyIds`. Whenever
 * the service holds a record's secrets open (a successful proof, a reveal,
 * `rekey`), whatever a retired key sealed is sealed again under the current
 * one, so the old key can be dropped once `rekey` finds nothing needs it.
 * A value under a key the ring no longer holds can never be opened: it
 * never breaks a login or a status, and it is reported.
 */
import type { KeyRing } from '../seal.ts';
import type { MfaRecord } from '../stores/types.ts';
import { assertUserId, SEAL_CODES, SEAL_TOTP, type ServiceContext } from './context.ts';
import { isEnabled, withChanges } from './record.ts';
import { installCodeSet, newCodeSet } from './recovery-code-set.ts';
import type { RekeyNeed, RekeyResult } from './results.ts';

const ringKeyIds = new WeakMap<KeyRing, ReadonlySet<string>>();

/** The ids of the ring's keys, current first. */
function keyIdsOf(ring: KeyRing): ReadonlySet<string> {
  let ids = ringKeyIds.get(ring);
  if (ids === undefined) {
    ids = new Set(ring.toJSON().keyIds);
    ringKeyIds.set(ring, ids);
  }
  return ids;
}

/**
 * True when `sealed` is a sealed value under a key this ring does not hold
 * (dropped): it can never be opened again. Anything else that fails to open
 * (tampered, another user's) is not this, and stays an error.
 */
export function underDroppedKey(ctx: ServiceContext, sealed: string): boolean {
  const keyId = ctx.ring.keyIdOf(sealed);
  return keyId !== null && !keyIdsOf(ctx.ring).has(keyId);
}

/**
 * Key ids the live set's stored hashes may be under: the record says so for
 * every set hashed since it kept them; a set hashed by an earlier version
 * may be under any key of the ring (one not in it cannot match anyway).
 */
export function codeHashKeyIds(ctx: ServiceContext, record: MfaRecord): readonly string[] {
  if (record.recoveryCodeSet === null) return [];
  return record.recoveryCodeKeyIds ?? [...keyIdsOf(ctx.ring)];
}

/** The record after {@link moveToCurrentKey}, and how many values moved. */
export interface Moved {
  record: MfaRecord;
  resealed: number;
}

/**
 * Everything in the record sealed under a retired key of the ring, sealed
 * again under the current key: the TOTP secret, a pending enrollment's
 * secret, an unrevealed code set. What a dropped key sealed cannot be
 * opened: an unrevealed set is replaced by a fresh one (nobody has seen
 * either, so nothing is lost: its hashes are written when it is revealed),
 * a pending enrollment is dropped (it must be begun again), and the TOTP
 * secret is left for the user to re-enroll (see {@link keyDependencies}).
 * Runs inside a decision, so it only changes the record.
 */
export function moveToCurrentKey(ctx: ServiceContext, userId: string, record: MfaRecord, now: number): Moved {
  const ring = ctx.ring;
  let next = record;
  let resealed = 0;
  // (Loops and module-level helpers rather than closures: this runs in every successful proof.)
  let staleTotp = false;
  for (const f of record.factors) {
    if (f.kind === 'totp' && isStale(ctx, f.secret)) staleTotp = true;
  }
  if (staleTotp) {
    const factors = [];
    for (const f of record.factors) {
      if (f.kind !== 'totp' || !isStale(ctx, f.secret)) factors.push(f);
      else {
        factors.push({ ...f, secret: resealUnder(ctx, f.secret, userId, SEAL_TOTP) });
        resealed++;
      }
    }
    next = withChanges(next, { factors });
  }
  const pending = record.pendingTotp;
  if (pending !== null && underDroppedKey(ctx, pending.secret)) {
    next = withChanges(next, { pendingTotp: null });
  } else if (pending !== null && isStale(ctx, pending.secret)) {
    next = withChanges(next, { pendingTotp: { ...pending, secret: resealUnder(ctx, pending.secret, userId, SEAL_TOTP) } });
    resealed++;
  }
  const unrevealed = record.unrevealedCodes;
  if (unrevealed !== null && underDroppedKey(ctx, unrevealed)) {
    next = withChanges(next, installCodeSet(ctx, userId, newCodeSet(ctx), record.recoveryCodeGeneration + 1, now));
    resealed++;
  } else if (unrevealed !== null && isStale(ctx, unrevealed)) {
    next = withChanges(next, { unrevealedCodes: ring.seal(ring.openText(unrevealed, userId, SEAL_CODES), userId, SEAL_CODES) });
    resealed++;
  }
  return { record: next, resealed };
}

/** Sealed under a retired key the ring still holds: one to move to the current key. */
function isStale(ctx: ServiceContext, sealed: string): boolean {
  return ctx.ring.keyIdOf(sealed) !== ctx.ring.currentKeyId && !underDroppedKey(ctx, sealed);
}

/** `sealed` opened and sealed again under the current key, for the same user and purpose. */
function resealUnder(ctx: ServiceContext, sealed: string, userId: string, purpose: string): string {
  return ctx.ring.seal(ctx.ring.open(sealed, userId, purpose), userId, purpose);
}

/** What {@link keyDependencies} finds. */
export interface KeyDependencies {
  /** Ids of keys other than the current one that something in the record needs. */
  dependsOn: string[];
  /** What only the user can move to the current key. */
  needsUser: RekeyNeed[];
}

/**
 * The keys other than the current one the record still needs, and what
 * only the user can fix: an authenticator app sealed under a dropped key
 * (`totp`: re-enroll it), and recovery codes already revealed whose hashes
 * are under another key, as long as any is unused (`recovery_codes`:
 * regenerate them; the plaintext is gone, so they can never be hashed
 * again). `remaining`: the unused codes of a revealed set.
 */
export function keyDependencies(ctx: ServiceContext, record: MfaRecord, remaining: number, now: number): KeyDependencies {
  const current = ctx.ring.currentKeyId;
  const dependsOn = new Set<string>();
  const needsUser: RekeyNeed[] = [];
  const sealedBy = (sealed: string) => {
    const keyId = ctx.ring.keyIdOf(sealed);
    if (keyId !== null && keyId !== current) dependsOn.add(keyId);
  };
  for (const factor of record.factors) if (factor.kind === 'totp') sealedBy(factor.secret);
  if (totpUnavailable(ctx, record)) needsUser.push('totp');
  const pending = record.pendingTotp;
  if (pending !== null && pending.expiresAt > now && pending.factorEpoch === record.factorEpoch) sealedBy(pending.secret);
  if (record.unrevealedCodes !== null) sealedBy(record.unrevealedCodes);
  if (codesNeedRekey(ctx, record, remaining)) {
    for (const keyId of codeHashKeyIds(ctx, record)) if (keyId !== current) dependsOn.add(keyId);
    needsUser.push('recovery_codes');
  }
  return { dependsOn: [...dependsOn].sort(), needsUser };
}

/** The authenticator app's secret is under a dropped key: no code can be checked until it is enrolled again. */
export function totpUnavailable(ctx: ServiceContext, record: MfaRecord): boolean {
  return record.factors.some((f) => f.kind === 'totp' && underDroppedKey(ctx, f.secret));
}

/** Revealed, unused recovery codes whose hashes are (or may be) under a key other than the current one: only a regeneration moves them. */
export function codesNeedRekey(ctx: ServiceContext, record: MfaRecord, remaining: number): boolean {
  if (!isEnabled(record) || record.unrevealedCodes !== null || remaining <= 0) return false;
  return codeHashKeyIds(ctx, record).some((keyId) => keyId !== ctx.ring.currentKeyId);
}

/**
 * `MfaService.rekey`: moves the user's record to the current key as far as
 * it can without the user ({@link moveToCurrentKey}), and reports what it
 * still needs. A record from before `recoveryCodeKeyIds` existed learns
 * which keys its live set may be under (and is written, so a store that
 * names users on write names it). Runs whatever the lock state: it proves
 * nothing and grants nothing.
 */
export async function rekey(ctx: ServiceContext, userId: string): Promise<RekeyResult> {
  assertUserId(userId);
  return ctx.update<RekeyResult>(userId, async (record, now) => {
    const moved = moveToCurrentKey(ctx, userId, record, now);
    let next = moved.record;
    const learned = next.recoveryCodeKeyIds === undefined;
    if (learned) next = withChanges(next, { recoveryCodeKeyIds: [...codeHashKeyIds(ctx, next)] });
    // Unused codes matter only for a revealed set whose hashes are under another key.
    const revealedElsewhere = isEnabled(next) && next.unrevealedCodes === null && codeHashKeyIds(ctx, next).some((id) => id !== ctx.ring.currentKeyId);
    const remaining = revealedElsewhere ? await ctx.codes.countUnused(userId) : 0;
    const { dependsOn, needsUser } = keyDependencies(ctx, next, remaining, now);
    return {
      write: moved.resealed > 0 || learned ? next : null,
      result: { ok: true, resealed: moved.resealed, dependsOn, needsUser },
    };
  });
}
