/**
 * The recovery-code flows: reveal the live set exactly once, and
 * regenerate (a new set after a proof; every old code dies at once).
 */
import { formatRecoveryCodesText, recoveryCodesFilename } from '../recovery-codes.ts';
import { assertUserId, SEAL_CODES, type ServiceContext } from './context.ts';
import { moveToCurrentKey, underDroppedKey } from './key-rotation.ts';
import { activeLock, lockedResult } from './lock.ts';
import { withProof } from './proof.ts';
import { isEnabled, withChanges } from './record.ts';
import { hashCodes, installCodeSet, newCodeSet } from './recovery-code-set.ts';
import type { Proof, RegenerateRecoveryCodesResult, RevealRecoveryCodesResult } from './results.ts';

/** A reveal that first had to commit a fresh set in place of one sealed under a dropped key. */
const AGAIN = Symbol('reveal again');

/**
 * `MfaService.revealRecoveryCodes`: the current codes exactly once, as an
 * array and a ready-to-save text file; the sealed plaintext is wiped, and
 * whatever else a retired key sealed is sealed again under the current one.
 */
export async function revealRecoveryCodes(ctx: ServiceContext, userId: string): Promise<RevealRecoveryCodesResult> {
  assertUserId(userId);
  for (;;) {
    const result = await revealOnce(ctx, userId);
    if (result !== AGAIN) return result;
  }
}

async function revealOnce(ctx: ServiceContext, userId: string): Promise<RevealRecoveryCodesResult | typeof AGAIN> {
  let prepared: { sealed: string; codes: string[]; generation: number } | null = null;
  return ctx.update<RevealRecoveryCodesResult | typeof AGAIN>(userId, async (record, now) => {
    // Codes are not shown while locked: whoever triggered the lock may hold the session.
    const lock = activeLock(record, now);
    if (lock) return { write: null, result: lockedResult(lock) };
    if (!isEnabled(record) || record.recoveryCodeSet === null) return { write: null, result: { ok: false, reason: 'not_enrolled' } };
    if (record.unrevealedCodes === null) return { write: null, result: { ok: false, reason: 'already_revealed' } };
    if (underDroppedKey(ctx, record.unrevealedCodes)) {
      // Sealed under a key no longer held: nobody has seen these codes and
      // nobody can. A fresh set takes their place, committed before the
      // store is given any hashes for it, then revealed like any other.
      return { write: moveToCurrentKey(ctx, userId, record, now).record, result: AGAIN };
    }
    // The store gets exactly this set, hashed under the current key, as a new
    // generation, before anyone sees it. Safe because nobody knows these codes
    // yet; it repairs a replace that failed after the set was committed, and
    // moves a set made before a key rotation to the current key. A concurrent
    // reveal computes the same generation and hashes, so its replace is a no-op.
    const generation = record.recoveryCodeGeneration + 1;
    if (prepared?.sealed !== record.unrevealedCodes || prepared.generation !== generation) {
      const codes = JSON.parse(ctx.ring.openText(record.unrevealedCodes, userId, SEAL_CODES)) as string[];
      await ctx.codes.replace(userId, hashCodes(ctx, userId, record.recoveryCodeSet, codes), generation);
      prepared = { sealed: record.unrevealedCodes, codes, generation };
    }
    const { codes } = prepared;
    const text = formatRecoveryCodesText({
      issuer: ctx.options.issuer,
      accountName: record.accountName ?? userId,
      codes,
      createdAt: record.recoveryCodesCreatedAt ?? now,
    });
    // The store now holds exactly these codes, all unused: the count logins report until a recovery code is used.
    const revealed = withChanges(record, {
      unrevealedCodes: null,
      recoveryCodeGeneration: generation,
      recoveryCodeKeyIds: [ctx.ring.currentKeyId],
      recoveryCodesUnused: { generation, count: codes.length },
    });
    return {
      write: moveToCurrentKey(ctx, userId, revealed, now).record,
      result: { ok: true, codes, text, filename: recoveryCodesFilename(ctx.options.issuer) },
      events: [{ type: 'recovery_codes.revealed', userId, at: now }],
    };
  });
}

/**
 * `MfaService.regenerateRecoveryCodes`: a new set (revealable once) after a
 * valid proof. Old codes die at once.
 */
export async function regenerateRecoveryCodes(ctx: ServiceContext, userId: string, proof: Proof): Promise<RegenerateRecoveryCodesResult> {
  assertUserId(userId);
  const set = newCodeSet(ctx);
  let hashes: string[] = [];
  let generation = 0;
  // Without a challenge, withProof never answers challenge_invalid.
  return withProof<RegenerateRecoveryCodesResult>(ctx, userId, proof, 'regenerate', null, {
    remainingAfter: () => set.codes.length,
    onSuccess: (record, now, { method }) => {
      hashes = hashCodes(ctx, userId, set.setId, set.codes);
      generation = record.recoveryCodeGeneration + 1;
      return {
        write: withChanges(record, installCodeSet(ctx, userId, set, generation, now)),
        result: { ok: true, method },
        events: [{ type: 'recovery_codes.regenerated', userId, at: now, count: set.codes.length }],
      };
    },
    afterCommit: async () => {
      await ctx.codes.replace(userId, hashes, generation);
    },
  }) as Promise<RegenerateRecoveryCodesResult>;
}
