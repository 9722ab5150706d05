import type { TotpAlgorithm, TotpDigits } from '../otp/index.ts';

/** A user's pending email recovery, as the service keeps it. Times in ms since epoch. */
export interface EmailRecoveryRecord {
  /** Keyed hash (hex) of the emailed token; the token itself is never stored. */
  tokenHash: string;
  requestedAt: number;
  /** The token works from this instant on (the waiting period ends). */
  notBefore: number;
  /** The token stops working at this instant. */
  expiresAt: number;
  /** `cancelled` is kept until expiry so a late click is told why it fails. */
  status: 'pending' | 'cancelled';
}

/**
 * One user's MFA record, exactly as the service hands it to a {@link UserStore}.
 * A plain JSON-safe object (strings, finite numbers, booleans, null, arrays,
 * objects): adapters may store it as JSON. Secrets inside are sealed
 * (AES-256-GCM, bound to the user id); the store never sees plaintext.
 * Stores must not interpret it: every rule lives in the service.
 */
export interface MfaRecord {
  /** Record layout version, for future migrations. */
  schema: 1;
  /** `registered` records remain after disable/recovery to keep the version counter monotonic. */
  state: 'registered' | 'enrolling' | 'enabled';
  /** Sealed TOTP secret of the enabled factor. */
  secret: string | null;
  /** TOTP parameters the factor was enrolled with (kept so config changes never break enrolled users). */
  algorithm: TotpAlgorithm;
  digits: TotpDigits;
  /** Seconds. */
  period: number;
  /** Account label shown in the authenticator app. */
  accountName: string | null;
  enabledAt: number | null;
  /** Sealed secret of an enrollment that is not yet confirmed. Never satisfies a login. */
  pendingSecret: string | null;
  pendingExpiresAt: number | null;
  /** Last accepted TOTP time step: only a strictly later step is accepted (replay rule). */
  lastStep: number | null;
  /** Identifies the live recovery-code set; hashes of any other set are dead. */
  recoveryCodeSet: string | null;
  /** Incremented with every new set and never reset: orders the store's replaces, so a late one for an older set is ignored. */
  recoveryCodeGeneration: number;
  /** Sealed plaintext of the live set until it is revealed once, then null. */
  unrevealedCodes: string | null;
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
  /**
   * What caused the current (or last) lock; null when none. Absent in records
   * written by 0.1.0, where it is read from `lockReason`.
   */
  lockCause?: 'failures' | 'failure_limit' | 'manual' | null;
  /** Incremented when every open challenge must die (disable, re-enable, recovery, any lock). */
  challengeEpoch: number;
  /** Ids of challenges spent by a success, kept until they expire. */
  spentChallenges: Array<{ id: string; expiresAt: number }>;
  emailRecovery: EmailRecoveryRecord | null;
}

/** A record with the version a compare-and-set must name. */
export interface VersionedRecord {
  record: MfaRecord;
  /** Positive integer; a successful write moves it to `version + 1`. */
  version: number;
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
  put(userId: string, record: MfaRecord, expectedVersion: number | null): Promise<boolean>;
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
