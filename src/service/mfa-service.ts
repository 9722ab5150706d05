import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { MfaError } from '../errors.ts';
import { lengthPrefixed } from '../length-prefixed.ts';
import { encodeBase32 } from '../otp/base32.ts';
import { verifyTotp, buildOtpauthUri } from '../otp/index.ts';
import { renderQr } from '../qr.ts';
import {
  formatRecoveryCodesText,
  generateRecoveryCodes,
  hashRecoveryCode,
  normalizeRecoveryCode,
  recoveryCodesFilename,
} from '../recovery-codes.ts';
import { createKeyRing, type KeyRing } from '../seal.ts';
import type { MfaRecord, RecoveryCodeStore, UserStore, VersionedRecord } from '../stores/types.ts';
import { openChallenge, signChallenge, type ChallengeClaims } from './challenge.ts';
import { blankRecord, clearLock, resetFactor } from './record.ts';
import type { MfaEvent } from './events.ts';
import { resolveOptions, type MfaServiceOptions, type ResolvedOptions } from './options.ts';
import type {
  BeginEnrollmentResult,
  CancelEmailRecoveryResult,
  CompleteEmailRecoveryResult,
  ConfirmEnrollmentResult,
  DisableResult,
  LockCause,
  LockedFailure,
  LockResult,
  Proof,
  ProofFailureResult,
  ProofMethod,
  RegenerateRecoveryCodesResult,
  RequestEmailRecoveryResult,
  RevealRecoveryCodesResult,
  StartLoginResult,
  StatusResult,
  UnlockResult,
  VerifyLoginResult,
} from './results.ts';

/** Compare-and-set attempts before a write gives up with `MfaError('store_conflict')`. */
const MAX_ATTEMPTS = 100;
/** Attempts retried at once before backing off with a short random delay. */
const IMMEDIATE_RETRIES = 4;
/** User ids are host-chosen strings of at most this many UTF-16 units. */
const MAX_USER_ID_LENGTH = 16_384;
/** Spent challenge ids kept per user; past this the epoch moves on and every open challenge dies. */
const MAX_SPENT_CHALLENGES = 256;
/** Bytes of TOTP key material for new enrollments (RFC 4226 recommends 160 bits). */
const SECRET_BYTES = 20;
const EMAIL_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const SEAL_TOTP = 'totp-secret';
const SEAL_CODES = 'recovery-codes';

type ProofContext = 'login' | 'disable' | 'regenerate';

/** A parsed proof: exactly one TOTP code or one canonical recovery code. */
type ParsedProof = { method: 'totp'; code: string } | { method: 'recovery_code'; code: string };

/** What an operation decided on one read: the record to write (or none), the result, and the events to emit once stored. */
interface Decision<T> {
  write: MfaRecord | null;
  result: T;
  events?: MfaEvent[];
}

/** An active lock: when codes may be tried again (null: only `unlock` ends it) and what caused it. */
interface ActiveLock {
  retryAt: number | null;
  cause: LockCause;
}

/** Null when codes may be tried now, else the lock in force. */
function activeLock(record: MfaRecord, now: number): ActiveLock | null {
  if (record.lockedIndefinitely) return { retryAt: null, cause: indefiniteLockCause(record) };
  if (record.lockedUntil !== null && record.lockedUntil > now) return { retryAt: record.lockedUntil, cause: 'failures' };
  return null;
}

/** Records written by 0.1.0 have no `lockCause`: there, only the failure limit set `lockReason` to 'failure_limit'. */
function indefiniteLockCause(record: MfaRecord): LockCause {
  if (record.lockCause === 'failure_limit' || record.lockCause === 'manual') return record.lockCause;
  return record.lockCause === undefined && record.lockReason === 'failure_limit' ? 'failure_limit' : 'manual';
}

/**
 * The record locked: every challenge issued before dies with the lock (the
 * epoch moves on), so one issued before a lock never works after `unlock`,
 * and a pending email recovery is cancelled (see cancelRecoveryOnLock).
 */
function locked(record: MfaRecord, userId: string, now: number, events: MfaEvent[]): MfaRecord {
  return { ...cancelRecoveryOnLock(record, userId, now, events), challengeEpoch: record.challengeEpoch + 1 };
}

/**
 * A lock cancels a pending email recovery. A locked owner can neither sign
 * in nor reach the account page to stop it, so a thief holding the password
 * and the mailbox could otherwise lock the owner out by failing codes and
 * wait out the delay undisturbed. Failing codes during the wait is what the
 * waiting period exists to catch.
 */
function cancelRecoveryOnLock(record: MfaRecord, userId: string, now: number, events: MfaEvent[]): MfaRecord {
  const pending = record.emailRecovery;
  if (pending?.status !== 'pending' || pending.expiresAt <= now) return record;
  events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'account_locked' });
  return { ...record, emailRecovery: { ...pending, status: 'cancelled' } };
}

function lockedResult(lock: { retryAt: number | null }): LockedFailure {
  return { ok: false, reason: 'locked', retryAt: lock.retryAt };
}

function assertUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH || !userId.isWellFormed()) {
    throw new MfaError('invalid_argument', `userId must be a non-empty, well-formed string of at most ${MAX_USER_ID_LENGTH} characters`);
  }
}

/** `{ totp }` or `{ recoveryCode }` with a well-formed code, else null. Never throws. */
function parseProof(proof: unknown, digits: number): ParsedProof | null {
  if (typeof proof !== 'object' || proof === null) return null;
  const totp = (proof as { totp?: unknown }).totp;
  const recoveryCode = (proof as { recoveryCode?: unknown }).recoveryCode;
  if (totp !== undefined && recoveryCode === undefined) {
    if (typeof totp !== 'string' || totp.length !== digits) return null;
    for (let i = 0; i < digits; i++) {
      const c = totp.charCodeAt(i);
      if (c < 48 || c > 57) return null;
    }
    return { method: 'totp', code: totp };
  }
  if (recoveryCode !== undefined && totp === undefined) {
    const code = normalizeRecoveryCode(recoveryCode);
    return code === null ? null : { method: 'recovery_code', code };
  }
  return null;
}

function isRecord(value: unknown): value is VersionedRecord {
  if (typeof value !== 'object' || value === null) return false;
  const { record, version } = value as Partial<VersionedRecord>;
  return (
    typeof version === 'number' && Number.isInteger(version) && version > 0 &&
    typeof record === 'object' && record !== null && record.schema === 1
  );
}

/**
 * Report a failure that must not fail the operation (an `onEvent` handler,
 * follow-up store work after a commit) as a process warning. Only the
 * error's name and code are included: messages from stores or handlers may
 * quote values twofold keeps out of logs.
 */
function warn(kind: 'event' | 'store', what: string, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  process.emitWarning(`twofold: ${what} (${name}${typeof code === 'string' ? ` ${code}` : ''})`, {
    type: kind === 'event' ? 'TwofoldEventWarning' : 'TwofoldStoreWarning',
  });
}

/**
 * TOTP multi-factor authentication with recovery codes, lockout and email
 * recovery, over pluggable atomic stores. Holds every rule of the flow; the
 * stores only persist. Never creates sessions: the host does, only after
 * {@link MfaService.startLogin} says MFA is not required or
 * {@link MfaService.verifyLogin} succeeds.
 *
 * Expected outcomes are `{ ok: false, reason }` values; `MfaError` is thrown
 * for misuse (bad options, a non-string user id) and store failures, which
 * propagate after leaving no partial state.
 */
export class MfaService {
  readonly #options: ResolvedOptions;
  readonly #ring: KeyRing;
  readonly #users: UserStore;
  readonly #codes: RecoveryCodeStore;
  readonly #onEvent: MfaServiceOptions['onEvent'];

  constructor(options: MfaServiceOptions) {
    this.#options = resolveOptions(options);
    this.#ring = createKeyRing({ secretKey: options.secretKey, previousSecretKeys: options.previousSecretKeys ?? [] });
    this.#users = options.users;
    this.#codes = options.recoveryCodes;
    this.#onEvent = options.onEvent;
  }

  /** Where the user stands: state, codes left, lock and pending recovery. */
  async status(userId: string): Promise<StatusResult> {
    assertUserId(userId);
    const now = this.#now();
    const current = await this.#read(userId);
    const record = current?.record;
    if (!record) return { state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false };
    const lock = activeLock(record, now);
    const enabled = record.state === 'enabled';
    const enrolling = record.state === 'enrolling' && record.pendingExpiresAt !== null && record.pendingExpiresAt > now;
    const status: StatusResult = {
      state: lock ? 'locked' : enabled ? 'enabled' : enrolling ? 'enrolling' : 'registered',
      recoveryCodesRemaining: enabled ? await this.#remaining(userId, record) : 0,
      recoveryCodesUnrevealed: enabled && record.unrevealedCodes !== null,
    };
    if (lock) {
      status.lockedUntil = lock.retryAt;
      status.lockCause = lock.cause;
    }
    if (enrolling) status.enrollmentExpiresAt = record.pendingExpiresAt!;
    const pending = record.emailRecovery;
    if (enabled && pending?.status === 'pending' && pending.expiresAt > now) {
      status.pendingEmailRecovery = { requestedAt: pending.requestedAt, notBefore: pending.notBefore, expiresAt: pending.expiresAt };
    }
    return status;
  }

  /**
   * Start (or restart) enrollment: a fresh secret, its otpauth URI and QR
   * code. The secret is pending until {@link confirmEnrollment} proves the
   * app holds it; a pending secret never satisfies a login.
   */
  async beginEnrollment(userId: string, options: { accountName: string }): Promise<BeginEnrollmentResult> {
    assertUserId(userId);
    const accountName = (options as { accountName?: unknown } | undefined)?.accountName;
    if (typeof accountName !== 'string' || accountName.trim() === '' || accountName.length > 200 || accountName.includes(':')) {
      throw new MfaError('invalid_argument', 'accountName must be a non-empty string of at most 200 characters without ":"');
    }
    const o = this.#options;
    const key = randomBytes(SECRET_BYTES);
    const secret = encodeBase32(key);
    let uri: string;
    try {
      uri = buildOtpauthUri({ issuer: o.issuer, accountName, secret, algorithm: o.algorithm, digits: o.digits, period: o.period });
    } catch (error) {
      // The issuer was checked at construction, so the account name is what the URI refused.
      if (error instanceof MfaError && error.code === 'invalid_uri') {
        throw new MfaError('invalid_argument', `accountName is not usable in an otpauth URI: ${error.message}`);
      }
      throw error;
    }
    const qrDataUrl = await renderQr(uri, { format: 'dataUrl' });
    const sealed = this.#ring.seal(key, userId, SEAL_TOTP);
    key.fill(0);
    return this.#update<BeginEnrollmentResult>(userId, (record, now) => {
      const lock = activeLock(record, now);
      if (lock) return { write: null, result: lockedResult(lock) };
      if (record.state === 'enabled') return { write: null, result: { ok: false, reason: 'already_enabled' } };
      const expiresAt = now + o.enrollmentTtlMs;
      return {
        write: {
          ...record,
          state: 'enrolling',
          pendingSecret: sealed,
          pendingExpiresAt: expiresAt,
          accountName,
          algorithm: o.algorithm,
          digits: o.digits,
          period: o.period,
        },
        result: { ok: true, secret, uri, qrDataUrl, expiresAt },
        events: [{ type: 'enrollment.started', userId, at: now, expiresAt }],
      };
    });
  }

  /**
   * Confirm a pending enrollment with the first code from the app. Enables
   * MFA, marks that code's step as used (it cannot be replayed for a login)
   * and creates the first recovery-code set, revealable once.
   */
  async confirmEnrollment(userId: string, code: string): Promise<ConfirmEnrollmentResult> {
    assertUserId(userId);
    const codes = generateRecoveryCodes(this.#options.codeCount);
    const setId = randomBytes(16).toString('base64url');
    let hashes: string[] = [];
    let generation = 0;
    const result = await this.#update<ConfirmEnrollmentResult>(userId, (record, now) => {
      // A lock holds against whoever holds the pending secret: support may have
      // locked the account on a suspected takeover. The code is not looked at.
      const lock = activeLock(record, now);
      if (lock) return { write: null, result: lockedResult(lock) };
      if (record.state === 'enabled') return { write: null, result: { ok: false, reason: 'already_enabled' } };
      if (record.state !== 'enrolling' || record.pendingSecret === null) {
        return { write: null, result: { ok: false, reason: 'not_enrolling' } };
      }
      if (record.pendingExpiresAt === null || record.pendingExpiresAt <= now) {
        return { write: null, result: { ok: false, reason: 'expired' } };
      }
      const proof = parseProof({ totp: code }, record.digits);
      if (proof === null) return { write: null, result: { ok: false, reason: 'malformed' } };
      const key = this.#ring.open(record.pendingSecret, userId, SEAL_TOTP);
      const match = verifyTotp(key, proof.code, this.#totpOptions(record, now));
      if (match === null) return { write: null, result: { ok: false, reason: 'invalid_code' } };
      hashes = this.#hashCodes(userId, setId, codes);
      generation = record.recoveryCodeGeneration + 1;
      return {
        write: {
          ...clearLock(record),
          state: 'enabled',
          secret: record.pendingSecret,
          pendingSecret: null,
          pendingExpiresAt: null,
          enabledAt: now,
          lastStep: this.#step(record, now) + match.delta,
          recoveryCodeSet: setId,
          recoveryCodeGeneration: generation,
          unrevealedCodes: this.#ring.seal(JSON.stringify(codes), userId, SEAL_CODES),
          recoveryCodesCreatedAt: now,
          challengeEpoch: record.challengeEpoch + 1,
          spentChallenges: [],
          emailRecovery: null,
        },
        result: { ok: true },
        events: [{ type: 'mfa.enabled', userId, at: now }],
      };
    }, async () => {
      // After the record commits: the store learns the new set. Should this
      // fail, the old set is already dead (hashes are bound to the set id)
      // and revealRecoveryCodes writes the set again before showing it.
      await this.#codes.replace(userId, hashes, generation);
    });
    return result;
  }

  /**
   * Show the current recovery codes exactly once, as an array and as a
   * ready-to-save text file. The sealed plaintext is wiped from the record;
   * a second call gets `already_revealed`.
   */
  async revealRecoveryCodes(userId: string): Promise<RevealRecoveryCodesResult> {
    assertUserId(userId);
    let prepared: { sealed: string; codes: string[]; generation: number } | null = null;
    return this.#update<RevealRecoveryCodesResult>(userId, async (record, now) => {
      // Codes are not shown while locked: whoever triggered the lock may hold the session.
      const lock = activeLock(record, now);
      if (lock) return { write: null, result: lockedResult(lock) };
      if (record.state !== 'enabled' || record.recoveryCodeSet === null) return { write: null, result: { ok: false, reason: 'not_enrolled' } };
      if (record.unrevealedCodes === null) return { write: null, result: { ok: false, reason: 'already_revealed' } };
      // The store gets exactly this set, hashed under the current key, as a new
      // generation, before anyone sees it. Safe because nobody knows these codes
      // yet; it repairs a replace that failed after the set was committed, and
      // moves a set made before a key rotation to the current key. A concurrent
      // reveal computes the same generation and hashes, so its replace is a no-op.
      const generation = record.recoveryCodeGeneration + 1;
      if (prepared?.sealed !== record.unrevealedCodes || prepared.generation !== generation) {
        const codes = JSON.parse(this.#ring.openText(record.unrevealedCodes, userId, SEAL_CODES)) as string[];
        await this.#codes.replace(userId, this.#hashCodes(userId, record.recoveryCodeSet, codes), generation);
        prepared = { sealed: record.unrevealedCodes, codes, generation };
      }
      const { codes } = prepared;
      const text = formatRecoveryCodesText({
        issuer: this.#options.issuer,
        accountName: record.accountName ?? userId,
        codes,
        createdAt: record.recoveryCodesCreatedAt ?? now,
      });
      return {
        write: { ...record, unrevealedCodes: null, recoveryCodeGeneration: generation },
        result: { ok: true, codes, text, filename: recoveryCodesFilename(this.#options.issuer) },
        events: [{ type: 'recovery_codes.revealed', userId, at: now }],
      };
    });
  }

  /**
   * Replace every recovery code with a new set (revealable once), after a
   * valid TOTP or recovery code. Old codes die at once.
   */
  async regenerateRecoveryCodes(userId: string, proof: Proof): Promise<RegenerateRecoveryCodesResult> {
    assertUserId(userId);
    const codes = generateRecoveryCodes(this.#options.codeCount);
    const setId = randomBytes(16).toString('base64url');
    let hashes: string[] = [];
    let generation = 0;
    // Without a challenge, #withProof never answers challenge_invalid.
    return this.#withProof<RegenerateRecoveryCodesResult>(userId, proof, 'regenerate', null, {
      remainingAfter: () => codes.length,
      onSuccess: (record, now, method) => {
        hashes = this.#hashCodes(userId, setId, codes);
        generation = record.recoveryCodeGeneration + 1;
        return {
          write: {
            ...record,
            recoveryCodeSet: setId,
            recoveryCodeGeneration: generation,
            unrevealedCodes: this.#ring.seal(JSON.stringify(codes), userId, SEAL_CODES),
            recoveryCodesCreatedAt: now,
          },
          result: { ok: true, method },
          events: [{ type: 'recovery_codes.regenerated', userId, at: now, count: codes.length }],
        };
      },
      afterCommit: async () => {
        await this.#codes.replace(userId, hashes, generation);
      },
    }) as Promise<RegenerateRecoveryCodesResult>;
  }

  /**
   * The host calls this after the password check. `mfaRequired: false`: the
   * host may create the session now. `mfaRequired: true`: no session yet;
   * keep `challenge` server-side and call {@link verifyLogin}. A locked user
   * gets `ok: false` with `mfaRequired: true` too.
   */
  async startLogin(userId: string): Promise<StartLoginResult> {
    assertUserId(userId);
    const now = this.#now();
    const record = (await this.#read(userId))?.record;
    if (!record) return { ok: true, mfaRequired: false };
    const lock = activeLock(record, now);
    if (lock) return { ...lockedResult(lock), mfaRequired: true };
    if (record.state !== 'enabled') return { ok: true, mfaRequired: false };
    const expiresAt = now + this.#options.challengeTtlMs;
    const [key] = this.#ring.macKeys('challenge');
    const { challenge } = signChallenge(key!, { userId, expiresAt, epoch: record.challengeEpoch });
    return { ok: true, mfaRequired: true, challenge, expiresAt };
  }

  /**
   * Check the second factor for a challenge from {@link startLogin}. On
   * `ok: true` the host creates the session for `userId` (rotating the
   * session id). The challenge is then spent; a pending email recovery is
   * cancelled, since the real owner just proved possession.
   */
  async verifyLogin(challenge: string, proof: Proof): Promise<VerifyLoginResult> {
    const claims = openChallenge(this.#ring.macKeys('challenge'), challenge);
    if (claims === null) return { ok: false, reason: 'challenge_invalid' };
    if (claims.expiresAt <= this.#now()) return { ok: false, reason: 'challenge_expired' };
    const userId = claims.userId;
    return this.#withProof<VerifyLoginResult>(userId, proof, 'login', claims, {
      onSuccess: (record, now, method, remaining) => {
        const events: MfaEvent[] = [];
        let emailRecovery = record.emailRecovery;
        if (emailRecovery?.status === 'pending' && emailRecovery.expiresAt > now) {
          emailRecovery = { ...emailRecovery, status: 'cancelled' };
          events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'mfa_login' });
        }
        let spent = record.spentChallenges.filter((c) => c.expiresAt > now);
        let epoch = record.challengeEpoch;
        if (spent.length >= MAX_SPENT_CHALLENGES) {
          epoch += 1;
          spent = [];
        } else {
          spent.push({ id: claims.id, expiresAt: claims.expiresAt });
        }
        return {
          write: { ...record, emailRecovery, spentChallenges: spent, challengeEpoch: epoch },
          result: { ok: true, userId, method, recoveryCodesRemaining: remaining },
          events,
        };
      },
    });
  }

  /** Turn MFA off after a valid TOTP or recovery code: secret, replay state and codes are gone. */
  async disable(userId: string, proof: Proof): Promise<DisableResult> {
    assertUserId(userId);
    return this.#withProof<DisableResult>(userId, proof, 'disable', null, {
      remainingAfter: () => 0,
      onSuccess: (record, now, method) => {
        const events: MfaEvent[] = [{ type: 'mfa.disabled', userId, at: now, method }];
        if (record.emailRecovery?.status === 'pending' && record.emailRecovery.expiresAt > now) {
          events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'mfa_disabled' });
        }
        return { write: resetFactor(record), result: { ok: true, method }, events };
      },
      afterCommit: async () => {
        await this.#codes.clear(userId);
      },
    }) as Promise<DisableResult>;
  }

  /**
   * For a user who lost both the app and the codes, after the host's
   * password step. Returns a token for the host to email as a link; it works
   * only after `recovery.emailDelayMs` and before `recovery.emailTtlMs`, and
   * any MFA login in between cancels it. A new request replaces the old one
   * and restarts the wait.
   */
  async requestEmailRecovery(userId: string): Promise<RequestEmailRecoveryResult> {
    assertUserId(userId);
    const token = randomBytes(32).toString('base64url');
    const [key] = this.#ring.macKeys('email-token');
    const tokenHash = this.#tokenHash(key!, userId, token);
    return this.#update<RequestEmailRecoveryResult>(userId, (record, now) => {
      if (record.state !== 'enabled') return { write: null, result: { ok: false, reason: 'not_enrolled' } };
      // While locked the owner could not sign in to stop it (see cancelRecoveryOnLock).
      const lock = activeLock(record, now);
      if (lock) return { write: null, result: lockedResult(lock) };
      const notBefore = now + this.#options.emailDelayMs;
      const expiresAt = now + this.#options.emailTtlMs;
      const events: MfaEvent[] = [];
      if (record.emailRecovery?.status === 'pending' && record.emailRecovery.expiresAt > now) {
        events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'superseded' });
      }
      events.push({ type: 'email_recovery.requested', userId, at: now, notBefore, expiresAt });
      return {
        write: { ...record, emailRecovery: { tokenHash, requestedAt: now, notBefore, expiresAt, status: 'pending' } },
        result: { ok: true, token, notBefore, expiresAt },
        events,
      };
    });
  }

  /**
   * Finish an email recovery with the emailed token, after the waiting
   * period: the second factor is removed (the user is `registered`) and codes
   * are cleared. It never ends a lock: a lock cancels a pending recovery and
   * none can be requested while locked. The host should then let the user
   * sign in with the password and enroll again.
   */
  async completeEmailRecovery(userId: string, token: string): Promise<CompleteEmailRecoveryResult> {
    assertUserId(userId);
    if (typeof token !== 'string' || !EMAIL_TOKEN.test(token)) return { ok: false, reason: 'malformed' };
    const hashes = this.#ring.macKeys('email-token').map((key) => Buffer.from(this.#tokenHash(key, userId, token), 'hex'));
    return this.#update<CompleteEmailRecoveryResult>(userId, (record, now) => {
      const pending = record.emailRecovery;
      if (record.state !== 'enabled' || pending === null) return { write: null, result: { ok: false, reason: 'not_requested' } };
      const stored = Buffer.from(pending.tokenHash, 'hex');
      let match = false;
      for (const hash of hashes) if (hash.length === stored.length && timingSafeEqual(hash, stored)) match = true;
      if (!match) return { write: null, result: { ok: false, reason: 'invalid_token' } };
      if (pending.status === 'cancelled') return { write: null, result: { ok: false, reason: 'cancelled' } };
      if (now >= pending.expiresAt) return { write: null, result: { ok: false, reason: 'expired' } };
      if (now < pending.notBefore) return { write: null, result: { ok: false, reason: 'too_early' } };
      // No lock can be active here: a lock cancels a pending recovery, and none can be requested while locked.
      return { write: resetFactor(clearLock(record)), result: { ok: true }, events: [{ type: 'email_recovery.completed', userId, at: now }] };
    }, async () => {
      await this.#codes.clear(userId);
    });
  }

  /** Cancel a pending email recovery (the owner says "this was not me"). */
  async cancelEmailRecovery(userId: string): Promise<CancelEmailRecoveryResult> {
    assertUserId(userId);
    return this.#update<CancelEmailRecoveryResult>(userId, (record, now) => {
      const pending = record.emailRecovery;
      if (pending?.status !== 'pending' || pending.expiresAt <= now) return { write: null, result: { ok: false, reason: 'not_requested' } };
      return {
        write: { ...record, emailRecovery: { ...pending, status: 'cancelled' } },
        result: { ok: true },
        events: [{ type: 'email_recovery.cancelled', userId, at: now, cause: 'manual' }],
      };
    });
  }

  /**
   * Lock the user until {@link unlock} (e.g. support, on a suspected
   * takeover). Every open challenge dies and a pending email recovery is
   * cancelled; while locked no code is evaluated, no factor confirmed, no
   * code revealed and no recovery requested.
   */
  async lock(userId: string, options: { reason?: string } = {}): Promise<LockResult> {
    assertUserId(userId);
    const reason = (options as { reason?: unknown } | undefined)?.reason;
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 200)) {
      throw new MfaError('invalid_argument', 'lock reason must be a string of at most 200 characters');
    }
    return this.#update<LockResult>(userId, (record, now) => {
      const events: MfaEvent[] = [{ type: 'account.locked', userId, at: now, cause: 'manual', ...(reason === undefined ? {} : { reason }), retryAt: null }];
      return {
        write: { ...locked(record, userId, now, events), lockedIndefinitely: true, lockReason: reason ?? 'manual', lockCause: 'manual' },
        result: { ok: true },
        events,
      };
    });
  }

  /**
   * End the lock now and reset the failure counters. With `causes`, only a
   * lock with one of those causes ends, decided in the same atomic write: a
   * host whose password reset ends locks made by failures
   * (`causes: ['failures', 'failure_limit']`) can never end support's
   * manual lock, however the two race.
   */
  async unlock(userId: string, options: { causes?: readonly LockCause[] } = {}): Promise<UnlockResult> {
    assertUserId(userId);
    const causes = (options as { causes?: unknown } | undefined)?.causes;
    if (causes !== undefined && (!Array.isArray(causes) || !causes.every((c) => c === 'failures' || c === 'failure_limit' || c === 'manual'))) {
      throw new MfaError('invalid_argument', "unlock causes must be an array of 'failures', 'failure_limit' or 'manual'");
    }
    return this.#update<UnlockResult>(userId, (record, now) => {
      const lock = activeLock(record, now);
      if (!lock) return { write: null, result: { ok: false, reason: 'not_locked' } };
      if (causes !== undefined && !(causes as LockCause[]).includes(lock.cause)) {
        return { write: null, result: { ok: false, reason: 'cause_mismatch', cause: lock.cause } };
      }
      return {
        write: clearLock(record),
        result: { ok: true },
        events: [{ type: 'account.unlocked', userId, at: now, cause: 'manual' }],
      };
    });
  }

  /** Safe to log: shows no keys or store contents. */
  toJSON(): { issuer: string } {
    return { issuer: this.#options.issuer };
  }

  [inspect.custom](): string {
    return `MfaService { issuer: ${JSON.stringify(this.#options.issuer)} }`;
  }

  // ---- internals -------------------------------------------------------

  #now(): number {
    const now = this.#options.now();
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new MfaError('invalid_option', 'MfaService option `now` must return a finite number of ms');
    return now;
  }

  #step(record: MfaRecord, now: number): number {
    return Math.floor(now / (record.period * 1000));
  }

  #totpOptions(record: MfaRecord, now: number) {
    return { now, algorithm: record.algorithm, digits: record.digits, period: record.period, window: this.#options.window };
  }

  #hashCodes(userId: string, setId: string, codes: readonly string[]): string[] {
    const [key] = this.#ring.macKeys('recovery-code');
    const setKey = this.#setKey(key!, setId);
    return codes.map((code) => hashRecoveryCode(userId, code, setKey));
  }

  /** Per-set hashing key: hashes of any other set can never match. */
  #setKey(key: Uint8Array, setId: string): Uint8Array {
    return createHmac('sha256', key).update(`recovery-code-set:${setId}`).digest();
  }

  #tokenHash(key: Uint8Array, userId: string, token: string): string {
    return createHmac('sha256', key).update(lengthPrefixed([userId])).update(token).digest('hex');
  }

  /**
   * Unused codes of the live set. A set not yet revealed is whole (nobody
   * knows its codes) and the store may not hold it yet (a replace that failed
   * after the commit is repaired by reveal), so it is counted from the record.
   * A set sealed under a key no longer in the ring cannot be shown any more:
   * it counts as what the store holds rather than breaking logins.
   */
  async #remaining(userId: string, record: MfaRecord): Promise<number> {
    if (record.unrevealedCodes !== null) {
      try {
        return (JSON.parse(this.#ring.openText(record.unrevealedCodes, userId, SEAL_CODES)) as string[]).length;
      } catch (error) {
        if (!(error instanceof MfaError && error.code === 'seal_invalid')) throw error;
      }
    }
    return this.#codes.countUnused(userId);
  }

  /**
   * Key rotation: after a successful proof, whatever is still sealed under a
   * retired key (the TOTP secret, an unrevealed code set) is sealed again
   * under the current one, so the old key can later be dropped.
   */
  #resealUnderCurrentKey(record: MfaRecord, userId: string): MfaRecord {
    const current = this.#ring.currentKeyId;
    let next = record;
    if (record.secret !== null && this.#ring.keyIdOf(record.secret) !== current) {
      next = { ...next, secret: this.#ring.seal(this.#ring.open(record.secret, userId, SEAL_TOTP), userId, SEAL_TOTP) };
    }
    if (record.unrevealedCodes !== null && this.#ring.keyIdOf(record.unrevealedCodes) !== current) {
      try {
        next = { ...next, unrevealedCodes: this.#ring.seal(this.#ring.openText(record.unrevealedCodes, userId, SEAL_CODES), userId, SEAL_CODES) };
      } catch (error) {
        // Sealed under a key already dropped: it can never be shown; leave it for regeneration.
        if (!(error instanceof MfaError && error.code === 'seal_invalid')) throw error;
      }
    }
    return next;
  }

  async #read(userId: string): Promise<VersionedRecord | null> {
    const current = await this.#users.get(userId);
    if (current === null || current === undefined) return null;
    if (!isRecord(current)) throw new MfaError('store_contract', 'UserStore.get returned something that is not a versioned MFA record');
    return current;
  }

  /**
   * Read–decide–compare-and-set, re-reading on a lost race, then run
   * `afterCommit` (whose failure is only reported) and emit the decision's events. `decide` must be free of
   * side effects other than idempotent ones: it may run several times.
   */
  async #update<T>(
    userId: string,
    decide: (record: MfaRecord, now: number) => Decision<T> | Promise<Decision<T>>,
    afterCommit?: () => Promise<void>,
  ): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt >= IMMEDIATE_RETRIES) {
        // Many writers on one record (a burst of parallel requests): spread them out.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 20)));
      }
      const now = this.#now();
      const current = await this.#read(userId);
      const decision = await decide(current?.record ?? blankRecord(this.#options), now);
      if (decision.write !== null) {
        const written = await this.#users.put(userId, decision.write, current?.version ?? null);
        if (written !== true && written !== false) throw new MfaError('store_contract', 'UserStore.put must resolve to true or false');
        if (!written) continue;
        if (afterCommit) {
          // The change is committed and its result is true; follow-up store work is
          // repairable (see callers), so its failure is reported, not thrown.
          await afterCommit().catch((error: unknown) => warn('store', 'a store call after a committed change failed', error));
        }
      }
      await this.#emit(decision.events);
      return decision.result;
    }
    throw new MfaError('store_conflict', `gave up after ${MAX_ATTEMPTS} compare-and-set conflicts on one user record`);
  }

  /**
   * Check a TOTP or recovery-code proof for an enabled user and apply the
   * lockout rules. A valid proof resets the failure count and lets
   * `onSuccess` add its change to the same compare-and-set write. A
   * recovery code is consumed before that write and restored if the write
   * cannot happen, so a store fault never costs the user a code.
   */
  async #withProof<T extends { ok: boolean }>(
    userId: string,
    rawProof: unknown,
    context: ProofContext,
    claims: ChallengeClaims | null,
    handlers: {
      onSuccess: (record: MfaRecord, now: number, method: ProofMethod, remaining: number) => Decision<T>;
      /** Unused codes after a success, read before the commit; defaults to the store's count. */
      remainingAfter?: () => number;
      afterCommit?: () => Promise<void>;
    },
  ): Promise<T | ProofFailureResult | LockedFailure | { ok: false; reason: 'challenge_invalid' }> {
    type Outcome = T | ProofFailureResult | LockedFailure | { ok: false; reason: 'challenge_invalid' };
    let consumed: { hash: string; setId: string } | null = null;
    let committed = false;
    try {
      const outcome = await this.#update<Outcome>(userId, async (record, now) => {
        // A code consumed on an earlier attempt whose write then lost a race
        // was valid, on a live challenge, before whatever concurrent requests
        // wrote since (failures, a lock that moved the challenge epoch): the
        // success is ordered first, and what came after it stays. The set is
        // unchanged (else this is false), so nothing but those moved the epoch.
        const alreadyConsumed = consumed !== null && consumed.setId === record.recoveryCodeSet;
        const lock = activeLock(record, now);
        // The lock is answered first so a locked user learns when to retry.
        if (lock && !alreadyConsumed) return { write: null, result: lockedResult(lock) };
        if (claims !== null) {
          const spent = record.spentChallenges.some((c) => c.id === claims.id);
          if (spent || (!alreadyConsumed && record.challengeEpoch !== claims.epoch)) {
            return { write: null, result: { ok: false, reason: 'challenge_invalid' } };
          }
        }
        if (record.state !== 'enabled' || record.secret === null) {
          return { write: null, result: claims !== null ? { ok: false, reason: 'challenge_invalid' } : { ok: false, reason: 'not_enrolled' } };
        }
        const proof = parseProof(rawProof, record.digits);
        if (proof === null) return { write: null, result: { ok: false, reason: 'malformed' } };

        let failure: 'invalid_code' | 'replayed' | null = null;
        let next: MfaRecord = record;
        if (proof.method === 'totp') {
          const key = this.#ring.open(record.secret, userId, SEAL_TOTP);
          const match = verifyTotp(key, proof.code, this.#totpOptions(record, now));
          if (match === null) failure = 'invalid_code';
          else {
            const step = this.#step(record, now) + match.delta;
            // A double submit (a double click, a form posted twice, two tabs): the very
            // step just accepted. Refused, but no failure: the owner must not lock
            // themselves out by succeeding. Every older step still counts.
            if (step === record.lastStep) return { write: null, result: { ok: false, reason: 'replayed', attemptsLeft: this.#attemptsLeft(record) } };
            if (record.lastStep !== null && step < record.lastStep) failure = 'replayed';
            else next = { ...record, lastStep: step };
          }
        } else if (!alreadyConsumed) {
          if (consumed !== null) {
            // The set changed while our write was losing a race: the old set is dead, give the code back anyway.
            await this.#codes.restore(userId, consumed.hash);
            consumed = null;
          }
          if (record.recoveryCodeSet !== null) {
            for (const key of this.#ring.macKeys('recovery-code')) {
              const hash = hashRecoveryCode(userId, proof.code, this.#setKey(key, record.recoveryCodeSet));
              // Should consume itself fail, whether the store spent the code is
              // unknown: it is treated as spent (fail closed, never usable twice).
              if (await this.#codes.consume(userId, hash)) {
                consumed = { hash, setId: record.recoveryCodeSet };
                break;
              }
            }
          }
          if (consumed === null) failure = 'invalid_code';
        }
        // else: consumed on an earlier attempt whose write lost a race; still ours.

        if (failure !== null) return this.#failure(userId, record, now, proof.method, failure, context);
        next = this.#resealUnderCurrentKey(next, userId);
        // Read before the commit, so nothing can fail once the record is written.
        const remaining = handlers.remainingAfter ? handlers.remainingAfter() : await this.#remaining(userId, next);
        const success = handlers.onSuccess(alreadyConsumed ? next : clearLock(next), now, proof.method, remaining);
        const events: MfaEvent[] = [];
        if (context === 'login') events.push({ type: 'login.succeeded', userId, at: now, method: proof.method, recoveryCodesRemaining: remaining });
        if (proof.method === 'recovery_code') {
          events.push({ type: 'recovery_code.used', userId, at: now, context, recoveryCodesRemaining: remaining });
        }
        return { ...success, events: [...events, ...(success.events ?? [])] };
      }, async () => {
        committed = true;
        if (handlers.afterCommit) await handlers.afterCommit();
      });
      if (consumed !== null && !committed) {
        // Ended without writing (the user was disabled or the challenge spent
        // meanwhile): the code was not used, so it must still work.
        await this.#codes.restore(userId, (consumed as { hash: string }).hash);
      }
      return outcome;
    } catch (error) {
      if (consumed !== null && !committed) {
        // The operation failed before committing, so the code must still work. Best effort: the original error wins.
        const { hash } = consumed as { hash: string };
        await this.#codes.restore(userId, hash).catch(() => undefined);
      }
      throw error;
    }
  }

  async #emit(events: MfaEvent[] | undefined): Promise<void> {
    if (!events || !this.#onEvent) return;
    for (const event of events) {
      try {
        await this.#onEvent(event);
      } catch (error) {
        warn('event', `onEvent failed for ${event.type}`, error);
      }
    }
  }

  /** Failures left before a lock, from the counters as they stand. */
  #attemptsLeft(counts: { failures: number; failuresSinceSuccess: number }): number {
    const o = this.#options;
    return Math.max(0, Math.min(o.maxFailures - counts.failures, o.hardLimit - counts.failuresSinceSuccess));
  }

  #failure(
    userId: string,
    record: MfaRecord,
    now: number,
    method: ProofMethod,
    reason: 'invalid_code' | 'replayed',
    context: ProofContext,
  ): Decision<ProofFailureResult | LockedFailure> {
    const o = this.#options;
    const failures = record.failures + 1;
    const failuresSinceSuccess = record.failuresSinceSuccess + 1;
    const attemptsLeft = this.#attemptsLeft({ failures, failuresSinceSuccess });
    const events: MfaEvent[] = [{ type: 'login.failed', userId, at: now, method, reason, context, attemptsLeft }];
    if (failuresSinceSuccess >= o.hardLimit) {
      events.push({ type: 'account.locked', userId, at: now, cause: 'failure_limit', retryAt: null });
      return {
        write: {
          ...locked(record, userId, now, events),
          failures: 0,
          failuresSinceSuccess,
          lockedIndefinitely: true,
          lockReason: 'failure_limit',
          lockCause: 'failure_limit',
        },
        result: lockedResult({ retryAt: null }),
        events,
      };
    }
    if (failures >= o.maxFailures) {
      const retryAt = now + Math.min(o.lockBaseMs * 2 ** record.lockCount, o.lockMaxMs);
      events.push({ type: 'account.locked', userId, at: now, cause: 'failures', retryAt });
      return {
        write: {
          ...locked(record, userId, now, events),
          failures: 0,
          failuresSinceSuccess,
          lockCount: record.lockCount + 1,
          lockedUntil: retryAt,
          lockReason: 'failures',
          lockCause: 'failures',
        },
        result: lockedResult({ retryAt }),
        events,
      };
    }
    return {
      write: { ...record, failures, failuresSinceSuccess },
      result: { ok: false, reason, attemptsLeft },
      events,
    };
  }
}
