/**
 * The record's shape as the service sees it: a blank record, the record
 * with every factor removed, the lock cleared, and the upgrade of a record
 * written by 0.1.0 (schema 1, one TOTP secret) to the current layout.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FactorRecord, MfaRecord, MfaRecordV1, StoredMfaRecord } from '../stores/types.ts';

/** The label an upgraded 0.1.0 authenticator app gets, and the default for a new one. */
export const DEFAULT_TOTP_LABEL = 'Authenticator app';

/** The fields of every second factor, pending or confirmed, and what hangs off them, all empty. */
function noFactors() {
  return {
    factors: [],
    pendingTotp: null,
    pendingWebAuthn: null,
    enabledAt: null,
    recoveryCodeSet: null,
    recoveryCodeKeyIds: [],
    unrevealedCodes: null,
    recoveryCodesCreatedAt: null,
    spentChallenges: [],
    emailRecovery: null,
    devices: [],
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
export function blankRecord(): MfaRecord {
  return {
    schema: 2,
    ...noFactors(),
    webauthnUserHandle: null,
    accountName: null,
    lastMfaAt: null,
    recoveryCodeGeneration: 0,
    ...noLock(),
    challengeEpoch: 0,
    factorEpoch: 0,
  };
}

/** MFA is on exactly when the user holds at least one confirmed factor. */
export function isEnabled(record: MfaRecord): boolean {
  return record.factors.length > 0;
}

/**
 * The record with every trace of the second factor removed: back to
 * `registered`; remembered browsers are forgotten too. The lock fields stay,
 * the recovery-code generation keeps counting, and both epochs move on so
 * every open challenge and step-up grant dies.
 */
export function resetFactors(record: MfaRecord): MfaRecord {
  return withChanges(record, { ...noFactors(), challengeEpoch: record.challengeEpoch + 1, factorEpoch: record.factorEpoch + 1 });
}

/** A new factor id: random, URL-safe, never reused. */
export function newFactorId(): string {
  return randomBytes(16).toString('base64url');
}

/** The record with failure counts and any lock cleared (and `changes` applied, in the same copy). */
export function clearLock(record: MfaRecord, changes?: Partial<MfaRecord>): MfaRecord {
  const cleared = withChanges(record, noLock());
  return changes === undefined ? cleared : Object.assign(cleared, changes);
}

/**
 * Every field of `T`, each required: an object literal of this type that
 * copies a stored object field by field does not compile once a field is
 * added to `T` and not to the literal.
 */
export type EveryField<T> = { [K in keyof T]-?: T[K] };

/** The record's optional fields: absent from records written before they existed, and kept absent. */
type OptionalField = 'recoveryCodeKeyIds' | 'recoveryCodesUnused';
type RequiredFields = EveryField<Omit<MfaRecord, OptionalField>>;

/**
 * A copy of the record's root with exactly the fields of the current layout
 * (everything below the root is shared: the service never changes a value
 * once built). Every record the service derives starts here rather than
 * from an object spread: one object literal gives every record the same
 * compact shape, where a spread of a spread re-derives it field by field
 * (about a tenth of a login's time at 26 fields). A field this version does
 * not know is not kept: one a newer version wrote and this one does not
 * maintain is safer absent than stale.
 */
export function copyRecord(r: MfaRecord): MfaRecord {
  const copy: RequiredFields & Pick<MfaRecord, OptionalField> = {
    schema: r.schema,
    factors: r.factors,
    pendingTotp: r.pendingTotp,
    pendingWebAuthn: r.pendingWebAuthn,
    webauthnUserHandle: r.webauthnUserHandle,
    accountName: r.accountName,
    enabledAt: r.enabledAt,
    lastMfaAt: r.lastMfaAt,
    recoveryCodeSet: r.recoveryCodeSet,
    recoveryCodeGeneration: r.recoveryCodeGeneration,
    unrevealedCodes: r.unrevealedCodes,
    recoveryCodesCreatedAt: r.recoveryCodesCreatedAt,
    failures: r.failures,
    failuresSinceSuccess: r.failuresSinceSuccess,
    lockCount: r.lockCount,
    lockedUntil: r.lockedUntil,
    lockedIndefinitely: r.lockedIndefinitely,
    lockReason: r.lockReason,
    lockCause: r.lockCause,
    challengeEpoch: r.challengeEpoch,
    spentChallenges: r.spentChallenges,
    factorEpoch: r.factorEpoch,
    emailRecovery: r.emailRecovery,
    devices: r.devices,
  };
  // Optional fields stay absent when absent (a record's JSON has no undefined field).
  if (r.recoveryCodeKeyIds !== undefined) copy.recoveryCodeKeyIds = r.recoveryCodeKeyIds;
  if (r.recoveryCodesUnused !== undefined) copy.recoveryCodesUnused = r.recoveryCodesUnused;
  return copy;
}

/** The record with `changes` applied: `{ ...record, ...changes }`, built by copyRecord. */
export function withChanges(record: MfaRecord, changes: Partial<MfaRecord>): MfaRecord {
  return Object.assign(copyRecord(record), changes);
}

/**
 * A 0.1.0 record as the current layout: its TOTP secret becomes the user's
 * one `totp` factor. The factor id is derived from the sealed secret, so
 * reading the same old record twice gives the same id until the upgraded
 * record is written back (on the next change).
 */
export function upgradeRecord(stored: StoredMfaRecord): MfaRecord {
  // (Layout-2 records written before remembered devices existed have no `devices`.)
  if (stored.schema === 2) return stored.devices ? stored : withChanges(stored, { devices: [] });
  const v1: MfaRecordV1 = stored;
  const factors: FactorRecord[] = [];
  if (v1.state === 'enabled' && v1.secret !== null) {
    factors.push({
      id: createHash('sha256').update(`twofold/v1-totp:${v1.secret}`).digest('base64url').slice(0, 22),
      kind: 'totp',
      label: DEFAULT_TOTP_LABEL,
      createdAt: v1.enabledAt ?? 0,
      lastUsedAt: loginAfterEnabling(v1),
      secret: v1.secret,
      algorithm: v1.algorithm,
      digits: v1.digits,
      period: v1.period,
      lastStep: v1.lastStep,
    });
  }
  const enrolling = v1.state === 'enrolling' && v1.pendingSecret !== null && v1.pendingExpiresAt !== null;
  return {
    schema: 2,
    factors,
    pendingTotp: enrolling
      ? { secret: v1.pendingSecret!, expiresAt: v1.pendingExpiresAt!, algorithm: v1.algorithm, digits: v1.digits, period: v1.period, label: null, factorEpoch: 0 }
      : null,
    pendingWebAuthn: null,
    webauthnUserHandle: null,
    accountName: v1.accountName,
    enabledAt: factors.length > 0 ? v1.enabledAt : null,
    lastMfaAt: factors[0]?.lastUsedAt ?? null,
    recoveryCodeSet: v1.recoveryCodeSet,
    recoveryCodeGeneration: v1.recoveryCodeGeneration,
    unrevealedCodes: v1.unrevealedCodes,
    recoveryCodesCreatedAt: v1.recoveryCodesCreatedAt,
    failures: v1.failures,
    failuresSinceSuccess: v1.failuresSinceSuccess,
    lockCount: v1.lockCount,
    lockedUntil: v1.lockedUntil,
    lockedIndefinitely: v1.lockedIndefinitely,
    lockReason: v1.lockReason,
    lockCause: legacyLockCause(v1),
    challengeEpoch: v1.challengeEpoch,
    spentChallenges: v1.spentChallenges,
    factorEpoch: 0,
    emailRecovery: v1.emailRecovery,
    devices: [],
  };
}

/** 0.1.0 kept no cause: only its failure limit wrote `lockReason: 'failure_limit'` with an indefinite lock. */
function legacyLockCause(v1: MfaRecordV1): MfaRecord['lockCause'] {
  const written = (v1 as { lockCause?: unknown }).lockCause;
  if (written === 'failures' || written === 'failure_limit' || written === 'manual') return written;
  if (v1.lockedIndefinitely) return v1.lockReason === 'failure_limit' ? 'failure_limit' : 'manual';
  return v1.lockedUntil !== null ? 'failures' : null;
}

/**
 * When a 0.1.0 user last logged in with the app, as far as the record tells:
 * a last accepted step beyond the enrolling code's window means a later
 * login. (0.1.0 kept no timestamp of it.)
 */
function loginAfterEnabling(v1: MfaRecordV1): number | null {
  if (v1.lastStep === null || v1.enabledAt === null) return null;
  const stepMs = v1.period * 1000;
  const usedAt = v1.lastStep * stepMs;
  return usedAt > v1.enabledAt + 2 * stepMs ? usedAt : null;
}
