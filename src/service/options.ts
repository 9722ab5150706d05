import { MfaError } from '../errors.ts';
import type { TotpAlgorithm, TotpDigits } from '../otp/index.ts';
import type { RecoveryCodeStore, UserStore } from '../stores/types.ts';
import type { MfaEvent } from './events.ts';
import type { WebAuthnPlugin } from './factors/webauthn-plugin.ts';

/** Options of {@link MfaService}. Durations are milliseconds (`…Ms`), except the TOTP `period` (seconds). */
export interface MfaServiceOptions {
  /** Shown in the authenticator app and in the recovery-code file. */
  issuer: string;
  /**
   * >= 32 random bytes: a `Uint8Array`, `'hex:…'` or `'base64:…'` (e.g.
   * `base64:$(openssl rand -base64 32)`). An unprefixed hex or base64 string
   * still works in 0.x, with a one-time `TwofoldKeyFormatWarning`, unless it
   * is one 0.1 guessed at (an odd number of hex digits, letters only):
   * `invalid_option`. Seals secrets, signs challenges, keys hashes. Keep it
   * out of the database.
   */
  secretKey: Uint8Array | string;
  /** Older keys (same forms as `secretKey`) still accepted for opening and verifying, newest first: rotate by moving the old key here. */
  previousSecretKeys?: ReadonlyArray<Uint8Array | string>;
  /** Where each user's MFA record lives: {@link MemoryUserStore} or an adapter's (`twofold/adapters/*`). */
  users: UserStore;
  /** Where recovery-code hashes live: {@link MemoryRecoveryCodeStore} or an adapter's. */
  recoveryCodes: RecoveryCodeStore;
  /** Clock, ms since epoch. Defaults to `Date.now`. */
  now?: () => number;
  /** TOTP parameters for new enrollments. Defaults are the only ones every authenticator app honours. */
  totp?: {
    /** HMAC hash. Default `'SHA1'`. */
    algorithm?: TotpAlgorithm;
    /** Code length. Default 6. */
    digits?: TotpDigits;
    /** Seconds, 1..120. Default 30. */
    period?: number;
    /** Accepted clock drift in steps. Default `{ past: 1, future: 1 }`; each 0..10. */
    window?: { past: number; future: number };
  };
  /** How long a pending enrollment may be confirmed. Default 10 min. */
  enrollmentTtlMs?: number;
  /** How long a login challenge lives. Default 5 min. */
  challengeTtlMs?: number;
  /** Security keys and passkeys: `webauthn({ rpId, rpName, origins })` from `twofold/webauthn`. Without it, WebAuthn calls throw `invalid_option`. */
  webauthn?: WebAuthnPlugin;
  /** How long a step-up grant from `verifyStepUp` lasts ("sudo mode"). Default 10 min, 1 min..1 h. */
  stepUpTtlMs?: number;
  /** Remembered browsers (`verifyLogin(..., { rememberDevice: {} })`). */
  rememberDevice?: {
    /** How long a device skips the second factor. Default 30 days, 1 min..400 days. */
    ttlMs?: number;
    /** Devices per user; past this the oldest is forgotten. Default 10, 1..100. */
    maxDevices?: number;
    /** A token rotated away less than this ago gets a normal challenge without alarm (two tabs, a double submit). Default 60 s, 0..10 min. */
    reuseGraceMs?: number;
  };
  /** When failed proofs lock the account, and for how long. */
  lockout?: {
    /** Consecutive failures that lock the account. Default 5. */
    maxFailures?: number;
    /** First lock's length; each further lock doubles it. Default 1 min. */
    baseMs?: number;
    /** Longest temporary lock. Default 1 h. */
    maxMs?: number;
    /** Failures without any success that lock until `unlock` (a completed email recovery never ends a lock) (NIST SP 800-63B: at most 100). Default 100. */
    hardLimit?: number;
  };
  /** Recovery codes and email recovery. */
  recovery?: {
    /** Recovery codes per set, 1..100. Default 10. */
    codeCount?: number;
    /** Waiting period before an email-recovery token works. Default 24 h. */
    emailDelayMs?: number;
    /** Lifetime of an email-recovery token, counted from the request. Default 72 h. */
    emailTtlMs?: number;
  };
  /**
   * Receives every {@link MfaEvent} after the change it reports is stored.
   * Awaited; a throw or rejection is caught and reported with
   * `process.emitWarning` (type `TwofoldEventWarning`) and never undoes or
   * fails the operation. Queue slow work (email) rather than doing it inline.
   */
  onEvent?: (event: MfaEvent) => void | Promise<void>;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  issuer: string;
  now: () => number;
  algorithm: TotpAlgorithm;
  digits: TotpDigits;
  period: number;
  window: { past: number; future: number };
  enrollmentTtlMs: number;
  challengeTtlMs: number;
  webauthn: WebAuthnPlugin | null;
  stepUpTtlMs: number;
  deviceTtlMs: number;
  maxDevices: number;
  deviceReuseGraceMs: number;
  maxFailures: number;
  lockBaseMs: number;
  lockMaxMs: number;
  hardLimit: number;
  codeCount: number;
  emailDelayMs: number;
  emailTtlMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function fail(option: string, expected: string): never {
  throw new MfaError('invalid_option', `MfaService option \`${option}\` must be ${expected}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) fail(name, 'an object');
  return value;
}

function integer(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(name, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** Validate every option and apply defaults; a bad option throws `MfaError('invalid_option')` naming it. */
export function resolveOptions(options: MfaServiceOptions): ResolvedOptions {
  if (!isPlainObject(options)) fail('options', 'an object');
  if (typeof options.issuer !== 'string' || options.issuer.trim() === '' || options.issuer.length > 200) {
    fail('issuer', 'a non-empty string of at most 200 characters');
  }
  if (options.issuer.includes(':')) fail('issuer', 'free of ":" (the otpauth label separator)');
  if (options.now !== undefined && typeof options.now !== 'function') fail('now', 'a function returning ms since epoch');
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') fail('onEvent', 'a function');
  checkStore(options.users, 'users', ['get', 'put']);
  checkStore(options.recoveryCodes, 'recoveryCodes', ['replace', 'consume', 'restore', 'countUnused', 'clear']);

  const totp = optionalObject(options.totp, 'totp');
  const algorithm = totp.algorithm ?? 'SHA1';
  if (algorithm !== 'SHA1' && algorithm !== 'SHA256' && algorithm !== 'SHA512') fail('totp.algorithm', "'SHA1', 'SHA256' or 'SHA512'");
  const digits = totp.digits ?? 6;
  if (digits !== 6 && digits !== 7 && digits !== 8) fail('totp.digits', '6, 7 or 8');
  const period = integer(totp.period, 'totp.period', 30, 1, 120);
  const window = optionalObject(totp.window, 'totp.window');
  const past = integer(window.past, 'totp.window.past', 1, 0, 10);
  const future = integer(window.future, 'totp.window.future', 1, 0, 10);

  const lockout = optionalObject(options.lockout, 'lockout');
  const maxFailures = integer(lockout.maxFailures, 'lockout.maxFailures', 5, 1, 100);
  const lockBaseMs = integer(lockout.baseMs, 'lockout.baseMs', MINUTE, 1, 30 * DAY);
  const lockMaxMs = integer(lockout.maxMs, 'lockout.maxMs', HOUR, 1, 365 * DAY);
  if (lockMaxMs < lockBaseMs) fail('lockout.maxMs', 'at least lockout.baseMs');
  const hardLimit = integer(lockout.hardLimit, 'lockout.hardLimit', 100, 1, 100);
  if (hardLimit < maxFailures) fail('lockout.hardLimit', 'at least lockout.maxFailures');

  const remember = optionalObject(options.rememberDevice, 'rememberDevice');
  const recovery = optionalObject(options.recovery, 'recovery');
  const codeCount = integer(recovery.codeCount, 'recovery.codeCount', 10, 1, 100);
  const emailDelayMs = integer(recovery.emailDelayMs, 'recovery.emailDelayMs', DAY, 0, 365 * DAY);
  const emailTtlMs = integer(recovery.emailTtlMs, 'recovery.emailTtlMs', 3 * DAY, 1, 365 * DAY);
  if (emailTtlMs <= emailDelayMs) fail('recovery.emailTtlMs', 'longer than recovery.emailDelayMs');

  return {
    issuer: options.issuer,
    now: options.now ?? Date.now,
    algorithm,
    digits,
    period,
    window: { past, future },
    enrollmentTtlMs: integer(options.enrollmentTtlMs, 'enrollmentTtlMs', 10 * MINUTE, 1000, DAY),
    challengeTtlMs: integer(options.challengeTtlMs, 'challengeTtlMs', 5 * MINUTE, 1000, DAY),
    webauthn: webauthnPlugin(options.webauthn),
    stepUpTtlMs: integer(options.stepUpTtlMs, 'stepUpTtlMs', 10 * MINUTE, MINUTE, HOUR),
    deviceTtlMs: integer(remember.ttlMs, 'rememberDevice.ttlMs', 30 * DAY, MINUTE, 400 * DAY),
    maxDevices: integer(remember.maxDevices, 'rememberDevice.maxDevices', 10, 1, 100),
    deviceReuseGraceMs: integer(remember.reuseGraceMs, 'rememberDevice.reuseGraceMs', MINUTE, 0, 10 * MINUTE),
    maxFailures,
    lockBaseMs,
    lockMaxMs,
    hardLimit,
    codeCount,
    emailDelayMs,
    emailTtlMs,
  };
}

function webauthnPlugin(plugin: unknown): WebAuthnPlugin | null {
  if (plugin === undefined) return null;
  if (typeof plugin !== 'object' || plugin === null || (plugin as { plugin?: unknown }).plugin !== 'twofold/webauthn') {
    fail('webauthn', "the plugin made by webauthn() from 'twofold/webauthn'");
  }
  return plugin as WebAuthnPlugin;
}

function checkStore(store: unknown, name: string, methods: string[]): void {
  if (typeof store !== 'object' || store === null) fail(name, `a store with ${methods.join(', ')} methods`);
  for (const method of methods) {
    if (typeof (store as Record<string, unknown>)[method] !== 'function') fail(name, `a store with a \`${method}\` method`);
  }
}
