/**
 * A user's recovery-code set as the service keeps it: one set per
 * generation, hashed under a per-set key (hashes of any other set can never
 * match), the plaintext sealed in the record until it is revealed once.
 */
import type { HmacKey } from '../seal.ts';
import { createHmac, randomBytes } from 'node:crypto';
import { MfaError } from '../errors.ts';
import { generateRecoveryCodes, hashRecoveryCode } from '../recovery-codes.ts';
import type { MfaRecord } from '../stores/types.ts';
import { SEAL_CODES, type ServiceContext } from './context.ts';
import { withChanges } from './record.ts';

/** A new set, before any record holds it: its plaintext codes and its id. */
export interface NewCodeSet {
  codes: string[];
  setId: string;
}

export function newCodeSet(ctx: ServiceContext): NewCodeSet {
  return { codes: generateRecoveryCodes(ctx.options.codeCount), setId: randomBytes(16).toString('base64url') };
}

/**
 * The record fields that make `set` the live set (revealable once), at
 * `generation`. Its hashes are made under the current key ({@link hashCodes}),
 * now and again when it is revealed. Its count is noted with it: a set not
 * yet revealed is whole (nobody knows its codes), so a login reports its
 * size without opening the sealed codes.
 */
export function installCodeSet(ctx: ServiceContext, userId: string, set: NewCodeSet, generation: number, now: number) {
  return {
    recoveryCodeSet: set.setId,
    recoveryCodeKeyIds: [ctx.ring.currentKeyId],
    recoveryCodeGeneration: generation,
    unrevealedCodes: ctx.ring.seal(JSON.stringify(set.codes), userId, SEAL_CODES),
    recoveryCodesCreatedAt: now,
    recoveryCodesUnused: { generation, count: set.codes.length },
  } satisfies Partial<MfaRecord>;
}

/** Per-set hashing key: hashes of any other set can never match. */
export function setKey(key: HmacKey, setId: string): Uint8Array {
  return createHmac('sha256', key).update(`recovery-code-set:${setId}`).digest();
}

/** The hashes of `codes` of set `setId`, under the current key's recovery-code subkey. */
export function hashCodes(ctx: ServiceContext, userId: string, setId: string, codes: readonly string[]): string[] {
  const [key] = ctx.ring.hmacKeys('recovery-code');
  const perSet = setKey(key!, setId);
  return codes.map((code) => hashRecoveryCode(userId, code, perSet));
}

/**
 * Unused codes of the live set. A set not yet revealed is whole (nobody
 * knows its codes) and the store may not hold it yet (a replace that failed
 * after the commit is repaired by reveal), so it is counted from the record.
 * A set sealed under a key no longer in the ring cannot be shown any more:
 * it counts as what the store holds rather than breaking logins.
 */
export async function remainingCodes(ctx: ServiceContext, userId: string, record: MfaRecord): Promise<number> {
  if (record.unrevealedCodes !== null) {
    try {
      return (JSON.parse(ctx.ring.openText(record.unrevealedCodes, userId, SEAL_CODES)) as string[]).length;
    } catch (error) {
      if (!(error instanceof MfaError && error.code === 'seal_invalid')) throw error;
    }
  }
  return ctx.codes.countUnused(userId);
}

/**
 * Unused codes of the live set as the record last counted them (a set not
 * yet revealed: its size, noted when it was made), or null when the record
 * cannot tell (no count for this generation, no set). See
 * `MfaRecord.recoveryCodesUnused`.
 */
export function recordedUnusedCodes(record: MfaRecord): number | null {
  const recorded = record.recoveryCodesUnused;
  if (record.recoveryCodeSet === null || recorded === undefined || recorded === null) return null;
  return recorded.generation === record.recoveryCodeGeneration && Number.isSafeInteger(recorded.count) && recorded.count >= 0 ? recorded.count : null;
}

/** The record with `count` noted as the unused codes of its live set (unchanged when there is none). */
export function noteUnusedCodes(record: MfaRecord, count: number): MfaRecord {
  if (record.recoveryCodeSet === null) return record;
  return withChanges(record, { recoveryCodesUnused: { generation: record.recoveryCodeGeneration, count } });
}
