import type { TotpAlgorithm, TotpDigits } from '../otp/index.ts';
import type { MfaRecord } from '../stores/types.ts';

/** The fields of an enrolled (or enrolling) second factor, all empty. */
function noFactor() {
  return {
    state: 'registered',
    secret: null,
    accountName: null,
    enabledAt: null,
    pendingSecret: null,
    pendingExpiresAt: null,
    lastStep: null,
    recoveryCodeSet: null,
    unrevealedCodes: null,
    recoveryCodesCreatedAt: null,
    spentChallenges: [],
    emailRecovery: null,
  } satisfies Partial<MfaRecord>;
}

/** The failure counters and lock fields, all clear. */
function noLock() {
  return {
    failures: 0,
    failuresSinceSuccess: 0,
    lockCount: 0,
    lockedUntil: null,
    lockedIndefinitely: false,
    lockReason: null,
    lockCause: null,
  } satisfies Partial<MfaRecord>;
}

/** The record of a user the stores have never seen: `registered`, nothing locked. */
export function blankRecord(totp: { algorithm: TotpAlgorithm; digits: TotpDigits; period: number }): MfaRecord {
  return {
    schema: 1,
    ...noFactor(),
    algorithm: totp.algorithm,
    digits: totp.digits,
    period: totp.period,
    recoveryCodeGeneration: 0,
    ...noLock(),
    challengeEpoch: 0,
  };
}

/**
 * The record with every trace of the second factor removed: back to
 * `registered`. The lock fields stay, the recovery-code generation keeps
 * counting, and the epoch moves on so every open challenge dies.
 */
export function resetFactor(record: MfaRecord): MfaRecord {
  return { ...record, ...noFactor(), challengeEpoch: record.challengeEpoch + 1 };
}

/** The record with failure counts and any lock cleared. */
export function clearLock(record: MfaRecord): MfaRecord {
  return { ...record, ...noLock() };
}
