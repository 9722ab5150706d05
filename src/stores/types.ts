import type { TotpAlgorithm, TotpDigits } from '../otp/index.ts';

/** A user's pending email recovery, as the service keeps it. Times in ms since epoch. */
export interface EmailRecoveryRecord {
  /** Keyed hash (hex) of the emailed token; the token itself is never stored. */
  tokenHash: string;
  /** When the recovery was requested. */
  requestedAt: number;
  /** The token works from this instant on (the waiting period ends). */
  notBefore: number;
  /** The token stops working at this instant. */
  expiresAt: number;
  /** `cancelled` is kept until expiry so a late click is told why it fails. */
  status: 'pending' | 'cancelled';
}

/** Fields every factor has. Times in ms since epoch. */
interface FactorBase {
  /** Random, stable, URL-safe: how the host names the factor (rename, remove). */
  id: string;
  /** The user's name for it ("Phone", "YubiKey 5C"). */
  label: string;
  /** When the factor was confirmed. */
  createdAt: number;
  /** Last successful proof with this factor, or null. */
  lastUsedAt: number | null;
}

/** An authenticator app. At most one per user. */
export interface TotpFactorRecord extends FactorBase {
  /** Discriminant: an authenticator app. */
  kind: 'totp';
  /** Sealed TOTP secret (AES-256-GCM, bound to the user id). */
  secret: string;
  /** Parameters it was enrolled with (kept so configuration changes never break enrolled users). */
  algorithm: TotpAlgorithm;
  /** Code length it was enrolled with. */
  digits: TotpDigits;
  /** Seconds. */
  period: number;
  /** Last accepted time step: only a strictly later step is accepted (replay rule). */
  lastStep: number | null;
}

/** A security key or passkey, used as a second factor. */
export interface WebAuthnFactorRecord extends FactorBase {
  /** Discriminant: a security key or passkey. */
  kind: 'webauthn';
  /** Credential id, base64url. */
  credentialId: string;
  /** The credential's COSE public key, base64url (public: not sealed). */
  publicKey: string;
  /** Signature counter last seen (0 for authenticators without one). */
  signCount: number;
  /** Transports the browser reported at registration (`usb`, `nfc`, `internal`, `hybrid`, ...). */
  transports: string[];
  /** Whether the credential may be synced (backup eligible) and is (backed up): a passkey. */
  backupEligible: boolean;
  /** Whether the credential was backed up (synced) at its last use. */
  backedUp: boolean;
}

/** A confirmed second factor, told apart by `kind`. */
export type FactorRecord = TotpFactorRecord | WebAuthnFactorRecord;

/** An authenticator-app enrollment not yet confirmed. Never satisfies a login. */
export interface PendingTotpRecord {
  /** Sealed secret. */
  secret: string;
  /** The enrollment must be confirmed before this instant (ms since epoch). */
  expiresAt: number;
  /** TOTP parameters the factor will have. */
  algorithm: TotpAlgorithm;
  /** Code length the factor will have. */
  digits: TotpDigits;
  /** Time step in seconds the factor will have. */
  period: number;
  /** The label asked for, or null for the default. */
  label: string | null;
  /** The record's `factorEpoch` when it began: a factor change since makes it stale. */
  factorEpoch: number;
}

/** A WebAuthn registration in progress: its challenge, hashed, and its expiry. */
export interface PendingWebAuthnRecord {
  /** SHA-256 (base64url) of the registration challenge. */
  challengeHash: string;
  /** The registration must finish before this instant (ms since epoch). */
  expiresAt: number;
  /** The label asked for, or null for the default. */
  label: string | null;
  /** The record's `factorEpoch` when it began: a factor change since makes it stale. */
  factorEpoch: number;
}

/**
 * A remembered browser ("don't ask again on this device"). The token itself
 * is never stored: only a keyed hash of it, bound to the user and device.
 * Each use rotates it; a token twofold issued for the device but no longer
 * live (its tag says so) is a rotated-away one: within the grace after the
 * last rotation a double submit, later a copied cookie.
 */
export interface DeviceRecord {
  /** Random, URL-safe; also the first part of the token. */
  id: string;
  /** The host's name for it ("Firefox on Linux"), or null. */
  label: string | null;
  /** HMAC-SHA256 (base64url) of the live token. */
  tokenHash: string;
  /** When the last rotation happened (ms), or null. */
  rotatedAt: number | null;
  /** When the device was remembered (ms). */
  createdAt: number;
  /** When the device last skipped the second factor (ms), or null. */
  lastUsedAt: number | null;
  /** The device stops skipping the second factor at this instant. */
  expiresAt: number;
}

/**
 * One user's MFA record, exactly as the service hands it to a {@link UserStore}.
 * A plain JSON-safe object (strings, finite numbers, booleans, null, arrays,
 * objects): adapters may store it as JSON. Secrets inside are sealed
 * (AES-256-GCM, bound to the user id); the store never sees plaintext.
 * Stores must not interpret it: every rule lives in the service.
 *
 * MFA is enabled exactly when `factors` is not empty.
 */
export interface MfaRecord {
  /** Record layout version. 2 since 0.2; records of 0.1.0 ({@link MfaRecordV1}) are read and upgraded by the service. */
  schema: 2;
  /** The confirmed second factors: at most one `totp`, any number of `webauthn` up to the plugin's limit. */
  factors: FactorRecord[];
  /** An authenticator-app enrollment waiting for its first code, or null. */
  pendingTotp: PendingTotpRecord | null;
  /** A security-key registration in progress, or null. */
  pendingWebAuthn: PendingWebAuthnRecord | null;
  /** Random WebAuthn user handle (base64url), made at the first registration; never the user id. */
  webauthnUserHandle: string | null;
  /** Account label shown in the authenticator app and the recovery-codes file. */
  accountName: string | null;
  /** When MFA was last turned on (first factor confirmed). */
  enabledAt: number | null;
  /** Last successful second-factor proof of any kind (a login, a step-up, a recovery code). */
  lastMfaAt: number | null;
  /** Identifies the live recovery-code set; hashes of any other set are dead. */
  recoveryCodeSet: string | null;
  /** Incremented with every new set and never reset: orders the store's replaces, so a late one for an older set is ignored. */
  recoveryCodeGeneration: number;
  /**
   * Key ids of the root keys the live set's stored hashes may be made
   * under, so a key rotation knows which old key the codes still need:
   * exactly one (the key that hashed them) for every set hashed by this
   * version, every key of the ring for a set found without this field
   * (hashed by an earlier version); empty without a set. Absent in records
   * written before it existed. Sealed values need no such field: each
   * carries its key id in its header.
   */
  recoveryCodeKeyIds?: string[];
  /** Sealed plaintext of the live set until it is revealed once, then null. */
  unrevealedCodes: string | null;
  /**
   * Unused codes of the live set as the service last counted them (when a
   * set is made: its size, since nobody knows the codes of a set not yet
   * revealed; at the reveal; at each recovery-code success), for the
   * `recoveryCodesRemaining` of a login with an app or a key without a store
   * call or opening the sealed codes. Used only while `generation` is the record's
   * `recoveryCodeGeneration`, so a new set never inherits a count. The
   * recovery-code store stays the truth (`status()` asks it). Absent in
   * records written before it existed.
   */
  recoveryCodesUnused?: { generation: number; count: number };
  /** When the live recovery-code set was made (ms), or null. */
  recoveryCodesCreatedAt: number | null;
  /** Consecutive failures since the last success or lock. */
  failures: number;
  /** Failures since the last success, never reset by a lock (the hard limit counts these). */
  failuresSinceSuccess: number;
  /** Locks so far since the last success: the backoff exponent. */
  lockCount: number;
  /** End of a temporary lock (ms), or null. */
  lockedUntil: number | null;
  /** Set while the account is locked until `unlock`. */
  lockedIndefinitely: boolean;
  /** The host's reason for a manual lock, or the cause of an automatic one. */
  lockReason: string | null;
  /** What caused the current (or last) lock; null when none. */
  lockCause: 'failures' | 'failure_limit' | 'manual' | null;
  /** Incremented when every open challenge must die (disable, re-enable, recovery, any lock). */
  challengeEpoch: number;
  /** Ids of challenges spent by a success, kept until they expire. */
  spentChallenges: Array<{ id: string; expiresAt: number }>;
  /** Incremented on every factor change, disable, reset and lock: every step-up grant issued before dies. */
  factorEpoch: number;
  /** A pending (or cancelled, until it expires) email recovery, or null. */
  emailRecovery: EmailRecoveryRecord | null;
  /** Remembered browsers, oldest first. */
  devices: DeviceRecord[];
}

/**
 * A record as 0.1.0 wrote it (one TOTP secret). Stores may still hold these;
 * the service reads them as a user with one `totp` factor and writes them
 * back as {@link MfaRecord} on the next change.
 */
export interface MfaRecordV1 {
  /** Record layout version 1 (0.1.0). */
  schema: 1;
  /** The user's MFA state then (a lock was kept in the lock fields). */
  state: 'registered' | 'enrolling' | 'enabled';
  /** Sealed secret of the one authenticator app, or null. */
  secret: string | null;
  /** TOTP parameters of the app (also of a pending enrollment). */
  algorithm: TotpAlgorithm;
  /** Code length of the app. */
  digits: TotpDigits;
  /** Time step of the app, in seconds. */
  period: number;
  /** As in {@link MfaRecord}. */
  accountName: string | null;
  /** As in {@link MfaRecord}. */
  enabledAt: number | null;
  /** Sealed secret of a pending enrollment, or null. */
  pendingSecret: string | null;
  /** When the pending enrollment expires (ms), or null. */
  pendingExpiresAt: number | null;
  /** Last accepted time step of the app, or null. */
  lastStep: number | null;
  /** As in {@link MfaRecord}. */
  recoveryCodeSet: string | null;
  /** As in {@link MfaRecord}. */
  recoveryCodeGeneration: number;
  /** As in {@link MfaRecord}. */
  unrevealedCodes: string | null;
  /** As in {@link MfaRecord}. */
  recoveryCodesCreatedAt: number | null;
  /** As in {@link MfaRecord}. */
  failures: number;
  /** As in {@link MfaRecord}. */
  failuresSinceSuccess: number;
  /** As in {@link MfaRecord}. */
  lockCount: number;
  /** As in {@link MfaRecord}. */
  lockedUntil: number | null;
  /** As in {@link MfaRecord}. */
  lockedIndefinitely: boolean;
  /** As in {@link MfaRecord}. */
  lockReason: string | null;
  /** As in {@link MfaRecord}. */
  challengeEpoch: number;
  /** As in {@link MfaRecord}. */
  spentChallenges: Array<{ id: string; expiresAt: number }>;
  /** As in {@link MfaRecord}. */
  emailRecovery: EmailRecoveryRecord | null;
}

/** Whatever layout a store may hold: the current one, or 0.1.0's. */
export type StoredMfaRecord = MfaRecord | MfaRecordV1;

/** A record with the version a compare-and-set must name. */
export interface VersionedRecord {
  /** The service only writes {@link MfaRecord}; a store may still return a record of 0.1.0. */
  record: StoredMfaRecord;
  /** Positive integer; a successful write moves it to `version + 1`. */
  version: number;
}

/** One page of {@link UserStore.scan}. */
export interface UserScanPage {
  /** User ids with a record, each exactly as it was put. */
  userIds: string[];
  /** Pass it to the next call; null once the walk is complete. */
  cursor: string | null;
  /**
   * Records on this page whose user id the store does not know, so they
   * are not in `userIds`: rows an adapter wrote before it kept the id
   * (their next `put` records it). Absent means 0.
   */
  unnamed?: number;
}

/**
 * Persists one {@link MfaRecord} per user id. Every write is a
 * compare-and-set on the version, so two app servers racing on one user
 * cannot both win: the loser re-reads and re-decides.
 *
 * User ids are arbitrary strings (quotes, NULs, unicode, many KB): adapters
 * must store and return them exactly.
 */
export interface UserStore {
  /** The user's record and version, or null when there is none. */
  get(userId: string): Promise<VersionedRecord | null>;
  /**
   * Write `record` if the stored version equals `expectedVersion`
   * (`null`: only if no record exists). Resolves true when written (the new
   * version is `expectedVersion + 1`, or 1 on create), false when the
   * version did not match. Atomic: of many concurrent writers naming the same
   * version, exactly one wins.
   */
  put(userId: string, record: StoredMfaRecord, expectedVersion: number | null): Promise<boolean>;
  /**
   * Optional: pages through every user id that has a record, for
   * maintenance such as re-sealing after a key rotation (`rekeyAll` of
   * `twofold/maintenance`). Start with `cursor` null and pass each page's
   * `cursor` back until it is null. Every user whose record exists for the
   * whole walk is in exactly one page, however many records are written
   * meanwhile; one created during the walk may or may not be. `limit` (a
   * positive integer) is the page size asked for: a page may hold fewer ids,
   * none at all before the end, or (a store over a primitive that only takes
   * a hint, like Redis's SCAN) somewhat more. A cursor is an opaque string
   * that resumes the walk later, in another process too, over the same
   * store configuration. The order is the store's choice.
   */
  scan?(cursor: string | null, limit: number): Promise<UserScanPage>;
}

/**
 * Persists a user's recovery-code hashes: 64 lowercase hex characters
 * each (SHA-256 / HMAC-SHA256 output). Never sees plaintext codes.
 */
export interface RecoveryCodeStore {
  /**
   * Replace the user's whole set with `hashes` (distinct), all unused, atomically (no
   * moment where old and new coexist) — but only if `generation` is greater
   * than the generation of the stored set, or no set is stored. Otherwise do
   * nothing: a slow replace of an older set that arrives late must never
   * overwrite a newer one, and a repeated replace of the same generation must
   * never mark used hashes unused again.
   */
  replace(userId: string, hashes: readonly string[], generation: number): Promise<void>;
  /**
   * Mark `hash` used if it is in the user's set and unused. Resolves true
   * exactly once per stored hash, however many callers race; false otherwise.
   */
  consume(userId: string, hash: string): Promise<boolean>;
  /**
   * Undo a `consume` of `hash` (one that resolved true) whose surrounding
   * operation failed before it committed, so a store fault never costs the
   * user a code. Marks `hash` unused again if it is in the current set and
   * used; a no-op otherwise. An adapter may be stricter and undo only a
   * consume it made itself (safer when a client re-sends commands after a
   * reconnect): the service only ever restores its own consume.
   */
  restore(userId: string, hash: string): Promise<void>;
  /** How many of the user's hashes are unused (0 for an unknown user). */
  countUnused(userId: string): Promise<number>;
  /** Remove the user's whole set and its generation. */
  clear(userId: string): Promise<void>;
}
