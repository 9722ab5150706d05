/**
 * Turning what a user typed into a twofold `Proof`, and a refused proof into
 * a sentence they can act on.
 */
import type { AuthenticationResponseJSON, LockCause, LockedFailure, MfaService, Proof, ProofFailureResult } from 'twofold';
import type { Message } from './views/layout.ts';

/** Longer than any real assertion (an RS-4096 signature is under 1 kB in base64url). */
const MAX_KEY_RESPONSE_CHARS = 16_000;

/**
 * The browser's answer from a security key, as public/webauthn.js posts it
 * (the AuthenticationResponseJSON of `startAuthentication`, JSON in the
 * `response` field). Null when nothing usable was sent (no JavaScript, or
 * not JSON of an object); twofold checks everything else.
 */
export function keyResponseFrom(input: string): AuthenticationResponseJSON | null {
  if (input === '' || input.length > MAX_KEY_RESPONSE_CHARS) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    return null;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as AuthenticationResponseJSON) : null;
}

/** What to say when the page posted no usable answer from a security key. */
export const NO_KEY_ANSWER =
  'Your browser sent no answer from a security key. Security keys need JavaScript and a browser that supports them; you can also enter a code.';

/**
 * One field that takes either kind of code, told apart by shape: up to 8
 * digits is an authenticator code (spaces dropped: `123 456` as apps show
 * it), anything else is a recovery code (twofold forgives case, dashes and
 * look-alikes). Null when empty.
 */
export function proofFromCode(input: string): Proof | null {
  const compact = input.replace(/\s+/g, '');
  if (compact === '') return null;
  if (/^\d{1,8}$/.test(compact)) return { totp: compact };
  return { recoveryCode: input.trim() };
}

/** A lock as pages describe it: when it ends by itself (null: never) and, if known, what caused it. */
export interface Lock {
  retryAt: number | null;
  cause?: LockCause | undefined;
}

/**
 * The sentence for a lock, by what ends it:
 * - `failures` (a few wrong codes in a row) ends by itself at `retryAt`;
 * - `failure_limit` (100 wrong codes without a right one) proves the password
 *   is known: it ends when the owner resets the password by email (this
 *   host's rule, routes/password-reset.ts) or support unlocks it;
 * - `manual` (support) ends only when support unlocks it.
 * Email recovery never ends a lock: it cannot be requested while locked,
 * and a lock cancels a pending one. `{when}`: the end, in words (layout.ts).
 */
export function lockedMessage(lock: Lock): Message {
  if (lock.retryAt !== null) {
    return { text: 'Too many wrong codes: your account is locked. Try again {when}. The lock ends by itself then.', when: { at: lock.retryAt, rounding: 'up' } };
  }
  switch (lock.cause) {
    case 'failure_limit':
      return {
        text:
          'Your account is locked after too many wrong codes: whoever typed them knows your password. ' +
          'Reset your password by email ("Forgot your password?" on the login page) to end the lock, or contact support.',
      };
    case 'manual':
      return { text: 'Your account was locked by support. Only support can unlock it.' };
    default:
      return { text: 'Your account is locked. Support can unlock it; a lock after too many wrong codes also ends when you reset your password.' };
  }
}

/**
 * The lock behind a `locked` answer. twofold's LockedFailure says when it
 * ends but not why; a lock without an end is either the failure limit or
 * support's, which end differently, so ask `status` for the cause.
 */
export async function lockOf(mfa: MfaService, userId: string, retryAt: number | null): Promise<Lock> {
  if (retryAt !== null) return { retryAt, cause: 'failures' };
  return { retryAt, cause: (await mfa.status(userId)).lockCause };
}

function attempts(attemptsLeft: number | undefined): string {
  if (attemptsLeft === undefined) return '';
  return ` ${attemptsLeft} attempt${attemptsLeft === 1 ? '' : 's'} left before your account is locked for a while.`;
}

/** What was presented: an authenticator code, a recovery code, or a security key's answer. */
export type ProofKind = 'totp' | 'recovery' | 'key';

/** The kind of a proof (a typed code is told apart by shape: {@link proofFromCode}). */
export function proofKind(proof: Proof): ProofKind {
  if ('webauthn' in proof) return 'key';
  if ('recoveryCode' in proof) return 'recovery';
  return 'totp';
}

/** What to say about a recovery code that is not one (not about 6-digit codes: it was not one). */
export const NOT_A_RECOVERY_CODE =
  'That is not a recovery code. Recovery codes have 24 letters and digits in 6 groups of 4, like XXXX-XXXX-XXXX-XXXX-XXXX-XXXX: check what you typed.';

/** {@link describeProofFailure}, looking up the cause of a lock without an end. */
export async function explainProofFailure(
  mfa: MfaService,
  userId: string,
  result: ProofFailureResult | LockedFailure,
  kind: ProofKind = 'totp',
): Promise<{ message: Message; status: number }> {
  return describeProofFailure(result, result.reason === 'locked' ? await lockOf(mfa, userId, result.retryAt) : undefined, kind);
}

/**
 * What to tell the user about a refused code or key; `HTTP status` to answer
 * with. `lock`: the lock of a `locked` result (see lockOf). `kind`: what was
 * presented (a malformed key answer is not a badly typed code).
 */
export function describeProofFailure(result: ProofFailureResult | LockedFailure, lock?: Lock, kind: ProofKind = 'totp'): { message: Message; status: number } {
  const say = (text: string, status: number) => ({ message: { text }, status });
  switch (result.reason) {
    case 'malformed':
      if (kind === 'key') return say('The answer from your security key could not be read. Try again, or enter a code.', 400);
      if (kind === 'recovery') return say(NOT_A_RECOVERY_CODE, 400);
      return say('Enter the 6-digit code from your authenticator app, or a recovery code.', 400);
    case 'invalid_code':
      if (kind === 'recovery') return say(`That recovery code is not right, or it was already used (each one works once).${attempts(result.attemptsLeft)}`, 401);
      return say(`That code is not right.${attempts(result.attemptsLeft)}`, 401);
    case 'replayed':
      return say(`That code was already used. Wait for the next code in your app.${attempts(result.attemptsLeft)}`, 401);
    case 'locked':
      return { message: lockedMessage(lock ?? { retryAt: result.retryAt }), status: 429 };
    case 'not_enrolled':
      return say('Two-factor authentication is not turned on for this account.', 400);
    case 'invalid_credential':
      return say(`That security key was not accepted (not one of yours, or not for this site).${attempts(result.attemptsLeft)}`, 401);
    case 'step_up_invalid':
    case 'step_up_expired':
      return say('Please confirm your second factor again.', 401);
  }
}
