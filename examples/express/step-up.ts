/**
 * Step-up ("sudo mode") on the host's side. Before a sensitive change
 * (turning MFA off, new recovery codes, removing a factor, adding one when
 * the user already holds one) the user confirms a fresh second factor on
 * /mfa/step-up (routes/step-up.ts); twofold's `verifyStepUp` answers with a
 * grant, kept here in the session with its expiry, and passed as
 * `{ stepUp: grant }` to those calls while it lives.
 *
 * The grant lives in the server-side session only (never in a page, a URL
 * or a cookie of its own), and the session gets a new id when it is granted
 * (sessions.ts rotateSession): a copy of the cookie taken before cannot use
 * it. twofold kills it when a factor is added or removed, MFA is turned off
 * or reset, or the account locks; when twofold says `step_up_invalid`,
 * `step_up_expired` or `proof_required`, the grant is dropped and the user
 * is sent to step up again.
 *
 * After the step-up the user returns to the page that asked for it. The
 * return path comes from the query string, so it is checked against a short
 * allow-list of same-origin paths ({@link safeReturnPath}): never an open
 * redirect.
 */
import type { Request, Response } from 'express';
import type { AppContext } from './context.ts';
import { setFlash } from './page.ts';

export const STEP_UP_PATH = '/mfa/step-up';
export const STEP_UP_AGAIN = 'Please confirm your second factor again.';

const FACTOR_ID = '[A-Za-z0-9_-]{1,64}';

/** Where a step-up may return to, and what it is for (shown on the step-up page). */
const RETURNS: ReadonlyArray<{ path: RegExp; purpose: string; keep?: readonly string[] }> = [
  { path: /^\/mfa\/disable$/, purpose: 'turn off two-factor authentication' },
  { path: /^\/mfa\/recovery-codes\/regenerate$/, purpose: 'generate new recovery codes' },
  { path: new RegExp(`^/mfa/factors/${FACTOR_ID}/remove$`), purpose: 'remove a two-factor method' },
  { path: /^\/mfa\/keys\/new$/, purpose: 'add a security key or passkey', keep: ['name'] },
  { path: /^\/mfa\/setup$/, purpose: 'add an authenticator app' },
  { path: /^\/account$/, purpose: 'change your two-factor settings' },
];

const DEFAULT_RETURN = '/account';
const BASE = 'http://return.invalid';

/**
 * `raw` if it is one of the allow-listed paths of this site (with only the
 * query parameters that path uses), else `/account`. Refuses absolute and
 * scheme-relative URLs (`//evil.example`, `/\evil.example`) and anything
 * off the list.
 */
export function safeReturnPath(raw: string): string {
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\') || raw.length > 300) return DEFAULT_RETURN;
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return DEFAULT_RETURN;
  }
  if (url.origin !== BASE) return DEFAULT_RETURN;
  const entry = RETURNS.find((r) => r.path.test(url.pathname));
  if (entry === undefined) return DEFAULT_RETURN;
  const query = new URLSearchParams();
  for (const name of entry.keep ?? []) {
    const value = url.searchParams.get(name);
    if (value) query.set(name, value.slice(0, 64));
  }
  const search = query.toString();
  return search === '' ? url.pathname : `${url.pathname}?${search}`;
}

/** What the step-up before `returnTo` (a {@link safeReturnPath}) is for, in words. */
export function stepUpPurpose(returnTo: string): string {
  const path = returnTo.split('?')[0]!;
  return RETURNS.find((r) => r.path.test(path))?.purpose ?? 'change your two-factor settings';
}

/** What the change after the step-up does, said before its forms (turning MFA off), or undefined. */
export function stepUpWarning(returnTo: string): string | undefined {
  if (returnTo.split('?')[0] === '/mfa/disable') {
    return 'Turning it off removes every method and every recovery code: your password alone will sign you in, and your other sessions are signed out.';
  }
  return undefined;
}

/** The step-up page that returns to `returnTo`. */
export function stepUpUrl(returnTo: string): string {
  return `${STEP_UP_PATH}?return=${encodeURIComponent(returnTo)}`;
}

/** The session's grant while it lives (by the app clock); a dead one is dropped. */
export function liveGrant(ctx: AppContext, req: Request): { grant: string; expiresAt: number } | undefined {
  const stepUp = req.session.stepUp;
  if (stepUp === undefined) return undefined;
  if (stepUp.expiresAt <= ctx.now()) {
    delete req.session.stepUp;
    return undefined;
  }
  return stepUp;
}

export function dropGrant(req: Request): void {
  delete req.session.stepUp;
}

/**
 * The live grant, or undefined after redirecting to the step-up page (which
 * returns to `returnTo`).
 */
export function requireStepUp(ctx: AppContext, req: Request, res: Response, returnTo: string): string | undefined {
  const live = liveGrant(ctx, req);
  if (live === undefined) res.redirect(303, stepUpUrl(returnTo));
  return live?.grant;
}

/** twofold's answers that mean "step up (again)": the grant is dead, old, or missing. */
export function needsStepUp(reason: string): boolean {
  return reason === 'step_up_invalid' || reason === 'step_up_expired' || reason === 'proof_required';
}

/** Drop the grant and send the user to step up again, then back to `returnTo`. */
export function stepUpAgain(req: Request, res: Response, returnTo: string): void {
  dropGrant(req);
  setFlash(req, 'info', STEP_UP_AGAIN);
  res.redirect(303, stepUpUrl(returnTo));
}
