/**
 * Every code an {@link MfaError} can carry. Errors are for misuse,
 * configuration and store failures; expected outcomes (a wrong code, an
 * expired challenge) are `{ ok: false, reason }` values instead.
 */
export type MfaErrorCode =
  /** `secretKey` (or one of `previousSecretKeys`) decodes to fewer than 32 bytes. */
  | 'weak_secret_key'
  /** A constructor or function option is out of range or of the wrong type. */
  | 'invalid_option'
  /** A function argument is of the wrong type or shape (not user input to the service). */
  | 'invalid_argument'
  /** A TOTP secret is not valid base32 or is too short. */
  | 'invalid_secret'
  /** An otpauth URI could not be built or parsed. */
  | 'invalid_uri'
  /** A sealed value was tampered with, truncated, or sealed under an unknown key or for another user. */
  | 'seal_invalid'
  /** A store kept losing compare-and-set races beyond the retry bound. */
  | 'store_conflict'
  /** A store returned something that breaks its contract. */
  | 'store_contract'
  /** The runtime lacks something twofold needs (e.g. neither node:zlib nor CompressionStream to make a PNG). */
  | 'unsupported_runtime';

/** Marks MfaError instances across copies of the library (see `Symbol.hasInstance`). */
const BRAND = Symbol.for('twofold.MfaError');

/**
 * The one error class twofold throws. Switch on `code`, never on `message`.
 * Messages name the offending option or argument but never contain secrets,
 * codes or hashes.
 *
 * @example
 * ```ts
 * import { generateSecret, MfaError } from 'twofold';
 *
 * try {
 *   generateSecret(8); // fewer than 16 bytes
 * } catch (error) {
 *   if (!(error instanceof MfaError)) throw error;
 *   console.log(error.code); // 'invalid_argument'
 * }
 * ```
 */
export class MfaError extends Error {
  /** Stable, machine-readable reason. */
  readonly code: MfaErrorCode;

  /**
   * @param code - The stable reason, see {@link MfaErrorCode}.
   * @param message - Names the option or argument; never a secret.
   * @param options - `cause`: the underlying error, if any.
   */
  constructor(code: MfaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MfaError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `instanceof MfaError` holds for an MfaError from any copy of twofold:
   * each entry point (`twofold`, `twofold/adapters/*`, `twofold/testing`) and
   * each module format (ESM, CJS) carries its own copy of this class, so
   * identity alone would miss errors thrown by a sibling entry.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/**
 * True when `value` is an {@link MfaError} (from any entry point), optionally with the given code.
 *
 * @example
 * ```ts
 * import { isMfaError, MfaService, MemoryUserStore, MemoryRecoveryCodeStore } from 'twofold';
 *
 * try {
 *   new MfaService({ issuer: 'Example App', secretKey: 'abcd', users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() });
 * } catch (error) {
 *   if (isMfaError(error, 'weak_secret_key')) console.error('TWOFOLD_SECRET_KEY needs 32 random bytes'); // this one
 *   else if (isMfaError(error)) console.error(`bad MFA configuration (${error.code}): ${error.message}`);
 *   else throw error;
 * }
 * ```
 */
export function isMfaError(value: unknown, code?: MfaErrorCode): value is MfaError {
  return value instanceof MfaError && (code === undefined || value.code === code);
}
