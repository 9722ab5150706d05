/**
 * Asking a signed-in user for their password again before an action that a
 * stolen session cookie must not be enough for: starting MFA setup (a thief
 * would put the account on their own phone, which also signs the owner's
 * other sessions out) and cancelling a pending email recovery (a thief would
 * stop the owner's way back in).
 *
 * A right password is remembered in the session for {@link RECENT_PASSWORD_MS},
 * so one confirmation covers the steps that follow (a wrong setup code
 * shows a new QR code without asking again), and the session gets a new id,
 * so a copy of the old cookie cannot use the confirmation (it is signed out). Checks use the same Argon2id
 * verify as the login, go through the same per-IP rate limit (app.ts), and
 * a session that types {@link MAX_PASSWORD_FAILURES} wrong passwords is
 * signed out: a cookie thief gets a handful of guesses, not a guessing oracle.
 * (Requests racing in one session may each count from the same number; the
 * per-IP limit is the hard bound, this count the cheap early one.)
 */
import type { Request } from 'express';
import type { Account } from './accounts.ts';
import type { AppContext } from './context.ts';
import { elevateSession, signOut } from './sessions.ts';

/** How long a re-checked password covers further sensitive actions of the session. */
export const RECENT_PASSWORD_MS = 5 * 60_000;
/** Wrong passwords a signed-in session may type at re-checks before it is signed out. */
export const MAX_PASSWORD_FAILURES = 5;

export const SIGNED_OUT_AFTER_WRONG_PASSWORDS = 'You were signed out after too many wrong passwords. Please log in again.';

/** Whether this session confirmed the password within the last {@link RECENT_PASSWORD_MS}. */
export function hasRecentPassword(ctx: AppContext, req: Request): boolean {
  const at = req.session.passwordConfirmedAt;
  if (at === undefined) return false;
  const age = ctx.now() - at;
  return age >= 0 && age < RECENT_PASSWORD_MS;
}

export type PasswordCheck =
  | { ok: true }
  /** `missing`: nothing typed (not counted); `wrong`: counted, `attemptsLeft` before the session ends. */
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'wrong'; attemptsLeft: number }
  /** Too many wrong passwords: the session was signed out (redirect to /login). */
  | { ok: false; reason: 'signed_out' };

/**
 * A recent confirmation, or else `password` checked against the account's
 * password hash. A right one is remembered (and resets the count of wrong ones).
 */
export async function confirmPassword(ctx: AppContext, req: Request, account: Account, password: string): Promise<PasswordCheck> {
  if (hasRecentPassword(ctx, req)) return { ok: true };
  if (password === '') return { ok: false, reason: 'missing' };
  if (await ctx.accounts.verifyPassword(account.id, password)) {
    // A new session id too (and the count of wrong passwords starts over).
    await elevateSession(req, ctx.now());
    return { ok: true };
  }
  return countWrongPassword(req);
}

/**
 * A wrong password typed by this signed-in session (a re-check here, or the
 * current password of a password change: routes/password-change.ts): counted,
 * and after {@link MAX_PASSWORD_FAILURES} the session is signed out.
 */
export function countWrongPassword(req: Request): Extract<PasswordCheck, { reason: 'wrong' | 'signed_out' }> {
  const failures = (req.session.passwordFailures ?? 0) + 1;
  if (failures >= MAX_PASSWORD_FAILURES) {
    signOut(req, SIGNED_OUT_AFTER_WRONG_PASSWORDS);
    return { ok: false, reason: 'signed_out' };
  }
  req.session.passwordFailures = failures;
  return { ok: false, reason: 'wrong', attemptsLeft: MAX_PASSWORD_FAILURES - failures };
}

/** The sentence for a refused check (not for `signed_out`, which redirects). */
export function passwordCheckMessage(check: Exclude<PasswordCheck, { ok: true } | { reason: 'signed_out' }>, what: string): string {
  if (check.reason === 'missing') return `Enter your password to ${what}.`;
  const left = check.attemptsLeft;
  return `That password is not right. ${left} attempt${left === 1 ? '' : 's'} left before you are signed out.`;
}
