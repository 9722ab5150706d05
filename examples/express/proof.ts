/**
 * Turning what a user typed into a twofold `Proof`, and a refused proof into
 * a sentence they can act on.
 */
import type { Proof, ProofFailureResult, LockedFailure } from 'twofold';
import { formatTime } from './time.ts';

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

/** The sentence for a lock: until when, or until support or email recovery ends it. */
export function lockedMessage(retryAt: number | null): string {
  return retryAt === null
    ? 'Your account is locked until support unlocks it or you complete an email recovery.'
    : `Too many wrong codes: your account is locked until ${formatTime(retryAt)}.`;
}

function attempts(attemptsLeft: number | undefined): string {
  if (attemptsLeft === undefined) return '';
  return ` ${attemptsLeft} attempt${attemptsLeft === 1 ? '' : 's'} left before your account is locked for a while.`;
}

/** What to tell the user about a refused code; `HTTP status` to answer with. */
export function describeProofFailure(result: ProofFailureResult | LockedFailure): { message: string; status: number } {
  switch (result.reason) {
    case 'malformed':
      return { message: 'Enter the 6-digit code from your authenticator app, or a recovery code.', status: 400 };
    case 'invalid_code':
      return { message: `That code is not right.${attempts(result.attemptsLeft)}`, status: 401 };
    case 'replayed':
      return {
        message: `That code was already used. Wait for the next code in your app.${attempts(result.attemptsLeft)}`,
        status: 401,
      };
    case 'locked':
      return { message: lockedMessage(result.retryAt), status: 429 };
    case 'not_enrolled':
      return { message: 'Two-factor authentication is not turned on for this account.', status: 400 };
  }
}
