/**
 * The recovery-code flows: reveal the live set exactly once, and
 * regenerate (a new set after a proof; every old code dies at once).
 */
import { formatRecoveryCodesText, recoveryCodesFilename } from '../recovery-codes.ts';
import { assertUserId, SEAL_CODES, type ServiceContext } from './context.ts';
import { activeLock, lockedResult } from './lock.ts';
import { withProof } from './proof.ts';
import { isEnabled } from './record.ts';
import { hashCodes, installCodeSet, newCodeSet } from './recovery-code-set.ts';
import type { Proof, RegenerateRecoveryCodesResult, RevealRecoveryCodesResult } from './results.ts';

/**
 * `MfaService.revealRecoveryCodes`: the current codes exactly once, as an
 * array and a ready-to-save text file; the sealed plaintext is wiped.
 */
export async function revealRecoveryCodes(ctx: ServiceContext, userId: string): Promise<RevealRecoveryCodesResult> {
  assertUserId(userId);
  let prepared: { sealed: string; codes: string[]; generation: number } | null = null;
  return ctx.update<RevealRecoveryCodesResult>(userId, async (record, now) => {
    // Codes are not shown while locked: whoever triggered the lock may hold the session.
    const lock = activeLock(record, now);
    if (lock) return { write: null, result: lockedResult(lock) };
    if (!isEnabled(record) || record.recoveryCodeSet === null) return { write: null, result: { ok: false, reason: 'not_enrolled' } };
    if (record.unrevealedCodes === null) return { write: null, result: { ok: false, reason: 'already_revealed' } };
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
    return {
      write: { ...record, unrevealedCodes: null, recoveryCodeGeneration: generation },
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
        write: { ...record, ...installCodeSet(ctx, userId, set, generation, now) },
        result: { ok: true, method },
        events: [{ type: 'recovery_codes.regenerated', userId, at: now, count: set.codes.length }],
      };
    },
    afterCommit: async () => {
      await ctx.codes.replace(userId, hashes, generation);
    },
  }) as Promise<RegenerateRecoveryCodesResult>;
}
