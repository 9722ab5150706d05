import { createHmac } from 'node:crypto';
import { MfaError } from '../errors.ts';
import { HotpSha1, SHA1_BLOCK_BYTES } from './hotp-sha1.ts';
import { secretToKey, wipeKey } from './secret.ts';

/** HMAC hash of a TOTP code. SHA1 is the only one every authenticator app honours. */
export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** Length of a TOTP code. 6 is the only one every authenticator app honours. */
export type TotpDigits = 6 | 7 | 8;

/**
 * How many time steps before and after the current one a code may come
 * from, to absorb clock drift and typing time. Each is an integer 0..10;
 * every extra step is one more code an attacker may guess.
 */
export interface TotpWindow {
  /** Steps before the current one (codes from a slow clock, or typed slowly), 0..10. */
  past: number;
  /** Steps after the current one (codes from a fast clock), 0..10. */
  future: number;
}

/** Options of {@link generateTotp} and {@link verifyTotp}; the defaults are what authenticator apps assume. */
export interface TotpOptions {
  /** Current time in milliseconds since the Unix epoch; default `Date.now()`. */
  now?: number;
  /** Default `'SHA1'`. */
  algorithm?: TotpAlgorithm;
  /** Default 6. */
  digits?: TotpDigits;
  /** Time step in seconds, an integer 1..120; default 30. */
  period?: number;
  /** Verify only; default `{ past: 1, future: 1 }`. */
  window?: TotpWindow;
}

/** Longest accepted period in seconds: past it a stolen code stays useful for too long. */
export const MAX_PERIOD = 120;
/** Widest accepted window side, in steps. */
export const MAX_WINDOW_STEPS = 10;

/**
 * The 8-byte big-endian counter, reused by every HMAC: JavaScript runs one
 * call at a time and the buffer is fully rewritten before each use.
 */
const counter = Buffer.alloc(8);

/** RFC 4226 dynamic truncation of HMAC(key, step) through node:crypto: a 31-bit integer, not yet reduced to digits. */
function truncatedByNode(hash: string, key: Uint8Array, step: number): number {
  counter.writeUInt32BE(Math.floor(step / 0x1_0000_0000), 0);
  counter.writeUInt32BE(step >>> 0, 4);
  const mac = createHmac(hash, key).update(counter).digest();
  return mac.readUInt32BE(mac[mac.length - 1]! & 0x0f) & 0x7fff_ffff;
}

/**
 * The SHA-1 HMAC of `key` prepared once ({@link HotpSha1}) when it serves:
 * SHA-1 with a key of at most one block, every authenticator-app secret.
 * Anything else (null) goes through node:crypto.
 */
function sha1For(hash: string, key: Uint8Array): HotpSha1 | null {
  return hash === 'sha1' && key.length <= SHA1_BLOCK_BYTES ? new HotpSha1(key) : null;
}

/** RFC 4226 dynamic truncation of HMAC(key, step), through `sha1` when there is one. */
function truncatedAt(sha1: HotpSha1 | null, hash: string, key: Uint8Array, step: number): number {
  return sha1 !== null ? sha1.truncated(step) : truncatedByNode(hash, key, step);
}

/**
 * Generate the TOTP code (RFC 6238) of `secret` at `options.now`: a string
 * of exactly `digits` ASCII digits, zero-padded. `secret` is base32
 * (case-insensitive, spaces and `=` tolerated) or the raw key bytes.
 * Throws `MfaError` `'invalid_secret'` or `'invalid_option'` on misuse.
 *
 * @example
 * ```ts
 * import { generateSecret, generateTotp } from 'twofold';
 *
 * const code = generateTotp(generateSecret()); // the code an authenticator app shows now
 * generateTotp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', { now: 59_000 }); // '287082' (RFC 6238 test vector)
 * generateTotp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', { now: 59_000, digits: 8 }); // '94287082'
 * ```
 */
export function generateTotp(secret: string | Uint8Array, options?: TotpOptions): string {
  const hash = checkAlgorithm(options?.algorithm);
  const digits = checkDigits(options?.digits);
  const period = checkPeriod(options?.period);
  const now = checkNow(options?.now);
  const key = secretToKey(secret);
  const sha1 = sha1For(hash, key);
  try {
    const value = truncatedAt(sha1, hash, key, Math.floor(now / (period * 1000))) % 10 ** digits;
    return String(value).padStart(digits, '0');
  } finally {
    sha1?.wipe();
    wipeKey(key, secret);
  }
}

/**
 * Check a TOTP code typed by a user. Returns the step offset it matched
 * (`delta`: 0 current, -1 previous, +1 next, ...) or null.
 *
 * Anything that is not a string of exactly `digits` ASCII digits returns
 * null before any HMAC is computed, and never throws: it is user input.
 * Options and secret are validated first (misuse → `MfaError`), so a bad
 * configuration fails on every call, not only on well-formed codes.
 *
 * The current step is tried first, then -1, +1, -2, +2, ... within the
 * window; steps before the epoch are skipped. A code that does not match
 * costs every candidate HMAC, so timing tells nothing about near misses.
 * Each candidate is compared as an integer: the parsed code against the
 * truncated HMAC, one machine compare of two small integers with no
 * per-digit early exit (unlike string `===`), and no buffers to allocate
 * (unlike `timingSafeEqual`). Only a match returns early, which tells the
 * caller nothing they did not already know.
 *
 * Replay protection is not here: the caller must remember the last
 * accepted step (`now` step + `delta`) and refuse it and anything earlier.
 * ({@link MfaService} does this for you.)
 *
 * @example
 * ```ts
 * import { generateSecret, generateTotp, verifyTotp } from 'twofold';
 *
 * const secret = generateSecret();
 * verifyTotp(secret, generateTotp(secret));                 // { delta: 0 }
 * verifyTotp(secret, '000000');                             // null (almost surely)
 * verifyTotp(secret, 'garbage');                            // null, without computing any HMAC
 * verifyTotp(secret, generateTotp(secret), { window: { past: 2, future: 0 } });
 * ```
 */
export function verifyTotp(secret: string | Uint8Array, code: unknown, options?: TotpOptions): { delta: number } | null {
  const hash = checkAlgorithm(options?.algorithm);
  const digits = checkDigits(options?.digits);
  const period = checkPeriod(options?.period);
  const now = checkNow(options?.now);
  const window = options?.window;
  const past = window === undefined ? 1 : checkWindowSide(window, 'past');
  const future = window === undefined ? 1 : checkWindowSide(window, 'future');
  const key = secretToKey(secret);
  let sha1: HotpSha1 | null = null;
  try {
    const given = parseCode(code, digits);
    if (given < 0) return null;
    sha1 = sha1For(hash, key);
    const modulus = 10 ** digits;
    const step = Math.floor(now / (period * 1000));
    const reach = past > future ? past : future;
    for (let distance = 0; distance <= reach; distance++) {
      if (distance <= past && step >= distance && (truncatedAt(sha1, hash, key, step - distance) % modulus ^ given) === 0) {
        return { delta: distance === 0 ? 0 : -distance };
      }
      if (distance > 0 && distance <= future && (truncatedAt(sha1, hash, key, step + distance) % modulus ^ given) === 0) {
        return { delta: distance };
      }
    }
    return null;
  } finally {
    sha1?.wipe();
    wipeKey(key, secret);
  }
}

/** The code as an integer, or -1 unless it is a string of exactly `digits` ASCII digits. */
function parseCode(code: unknown, digits: number): number {
  if (typeof code !== 'string' || code.length !== digits) return -1;
  let value = 0;
  for (let i = 0; i < digits; i++) {
    const digit = code.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function invalidOption(message: string): MfaError {
  return new MfaError('invalid_option', message);
}

/** The node:crypto hash name of a {@link TotpAlgorithm}; throws `invalid_option` for anything else. */
export function checkAlgorithm(algorithm: unknown): string {
  if (algorithm === undefined || algorithm === 'SHA1') return 'sha1';
  if (algorithm === 'SHA256') return 'sha256';
  if (algorithm === 'SHA512') return 'sha512';
  throw invalidOption("algorithm must be 'SHA1', 'SHA256' or 'SHA512'");
}

/** `digits`, default 6; throws `invalid_option` unless 6, 7 or 8. */
export function checkDigits(digits: unknown): TotpDigits {
  if (digits === undefined) return 6;
  if (digits === 6 || digits === 7 || digits === 8) return digits;
  throw invalidOption('digits must be 6, 7 or 8');
}

/** `period` in seconds, default 30; throws `invalid_option` unless an integer 1..120. */
export function checkPeriod(period: unknown): number {
  if (period === undefined) return 30;
  if (Number.isInteger(period) && (period as number) >= 1 && (period as number) <= MAX_PERIOD) return period as number;
  throw invalidOption(`period must be an integer number of seconds from 1 to ${MAX_PERIOD}`);
}

function checkNow(now: unknown): number {
  if (now === undefined) return Date.now();
  if (typeof now === 'number' && now >= 0 && now <= Number.MAX_SAFE_INTEGER) return now;
  throw invalidOption('now must be a finite, non-negative number of milliseconds since the epoch');
}

function checkWindowSide(window: TotpWindow, side: 'past' | 'future'): number {
  const steps = typeof window === 'object' && window !== null ? window[side] : undefined;
  if (Number.isInteger(steps) && (steps as number) >= 0 && (steps as number) <= MAX_WINDOW_STEPS) return steps as number;
  throw invalidOption(`window.${side} must be an integer from 0 to ${MAX_WINDOW_STEPS}`);
}
