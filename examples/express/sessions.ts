/**
 * Sessions of the host. twofold never creates them: a user is signed in
 * only after the password step says MFA is not required, or after the
 * second factor was verified. Until then the session holds only a pending
 * marker with the challenge, which grants nothing.
 *
 * A signed-in session ends after 8 hours without a request (the cookie and
 * the stored session expire, renewed by each request) and, whatever the
 * activity, 7 days after the sign-in: a copied cookie kept busy by a thief
 * does not live forever.
 */
import session from 'express-session';
import type { Request, RequestHandler } from 'express';
import type { LoginMethod, PublicKeyCredentialRequestOptionsJSON } from 'twofold';
import type { Account, Accounts } from './accounts.ts';
import type { Flash } from './views/layout.ts';

/** Between the password and the second factor: the challenge from `startLogin`, server-side only. */
export interface PendingMfa {
  userId: string;
  challenge: string;
  /** When the challenge expires (ms since epoch). */
  expiresAt: number;
  /** What the user may answer with (startLogin's `methods`): the page offers these. */
  methods: LoginMethod[];
  /**
   * Request options for the user's security keys (startLogin's `webauthn`), when they hold
   * any. Not secret: the page hands them to the browser. Their challenge is derived from
   * `challenge`, which never leaves the server.
   */
  webauthn?: PublicKeyCredentialRequestOptionsJSON;
}

/** A step-up ("sudo mode") in progress: the challenge from `startStepUp`, and where to go after it. */
export interface PendingStepUp {
  challenge: string;
  expiresAt: number;
  methods: LoginMethod[];
  webauthn?: PublicKeyCredentialRequestOptionsJSON;
  /** An allow-listed same-origin path (step-up.ts). */
  returnTo: string;
}

/** A step-up grant from `verifyStepUp`: passed as `{ stepUp: grant }` to sensitive calls until `expiresAt`. */
export interface StepUpGrant {
  grant: string;
  expiresAt: number;
}

declare module 'express-session' {
  interface SessionData {
    csrfToken: string;
    /** Present only in a signed-in session. */
    userId: string;
    /** The account's session generation when this session was signed in (see Accounts.endSessions). */
    generation: number;
    /** When this session was signed in (ms, app clock): the absolute lifetime counts from here. */
    signedInAt: number;
    /** When the password was last re-checked in this session (reauth.ts). */
    passwordConfirmedAt: number;
    /** Wrong passwords typed at re-checks in this session (reauth.ts). */
    passwordFailures: number;
    pendingMfa: PendingMfa;
    /** A step-up challenge being answered (step-up.ts). */
    pendingStepUp: PendingStepUp;
    /** A live step-up grant (step-up.ts); only in a signed-in session. */
    stepUp: StepUpGrant;
    /**
     * twofold's id of the remembered device whose cookie this browser holds
     * (device-cookie.ts), when the sign-in remembered it or was made with it:
     * the account page marks "this browser", and forgetting it clears the cookie.
     */
    deviceId: string;
    /**
     * When the authenticator-app setup this session was shown expires (not
     * secret): once it has passed, /mfa/setup says the setup expired and
     * offers a fresh start instead of silently showing a new QR code.
     */
    setupExpiresAt: number;
    /** Set by a regeneration: the recovery-codes page shows new codes, not the first ones (only its wording differs). */
    codesAfter: 'regenerated';
    flash: Flash;
  }
}

/** Idle limit: the session ends this long after its last request. */
export const SESSION_IDLE_MS = 8 * 3_600_000;
/** Absolute limit: a signed-in session ends this long after the sign-in, however active. */
export const SESSION_MAX_MS = 7 * 24 * 3_600_000;

/** Cookie name: in production the `__Host-` prefix makes the browser insist on Secure, Path=/ and no Domain. */
export function sessionCookieName(production: boolean): string {
  return production ? '__Host-twofold.sid' : 'twofold.sid';
}

export function sessionMiddleware(options: { secret: string; production: boolean; store: session.Store }): RequestHandler {
  return session({
    name: sessionCookieName(options.production),
    secret: options.secret,
    resave: false,
    // No cookie until there is something to keep (a CSRF token, a marker, a sign-in).
    saveUninitialized: false,
    store: options.store,
    cookie: {
      // Not readable from JavaScript: an injected script cannot steal the session.
      httpOnly: true,
      // Not sent on cross-site POSTs (first line of CSRF defence), still sent when following a link to us.
      sameSite: 'lax',
      // Only over HTTPS in production (behind a TLS-terminating proxy, hence `trust proxy`).
      secure: options.production,
      // Renewed by every request (the store's expiry too): the idle limit.
      maxAge: SESSION_IDLE_MS,
    },
  }) as RequestHandler;
}

/** A new session id, with nothing carried over: stops session fixation whenever privileges change. */
export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
}

/**
 * The one place a signed-in session is created: a fresh session id, stamped
 * with the account's generation and the time of the sign-in (`now`, the app
 * clock), and the remembered device of this browser when there is one.
 */
export async function signIn(req: Request, account: Account, now: number, deviceId?: string): Promise<void> {
  await regenerateSession(req);
  loaded.set(req, account);
  req.session.userId = account.id;
  req.session.generation = account.sessionGeneration;
  req.session.signedInAt = now;
  if (deviceId !== undefined) req.session.deviceId = deviceId;
}

/**
 * After the password was confirmed again (reauth.ts): a fresh session id
 * that keeps the sign-in (and the CSRF token, so other tabs' forms still
 * work) and records the confirmation. Any copy of the old cookie is dead
 * from now on, so a thief who copied it cannot ride on the owner's
 * confirmation.
 */
export async function elevateSession(req: Request, now: number): Promise<void> {
  await rotateSession(req);
  req.session.passwordConfirmedAt = now;
}

/**
 * A fresh session id that keeps the sign-in, the CSRF token, a recent
 * password confirmation, a live step-up grant and the note of this browser's
 * remembered device, and when the setup it was shown expires (nothing else: no pending challenge, no count of wrong
 * passwords). Used whenever a signed-in session gains something (the
 * password again, a step-up, a new password), so that a copy of the cookie
 * taken before cannot use it: the old id is gone.
 */
export async function rotateSession(req: Request): Promise<void> {
  const { userId, generation, signedInAt, csrfToken, passwordConfirmedAt, stepUp, deviceId, setupExpiresAt } = req.session;
  await regenerateSession(req);
  if (userId !== undefined) req.session.userId = userId;
  if (generation !== undefined) req.session.generation = generation;
  if (signedInAt !== undefined) req.session.signedInAt = signedInAt;
  if (csrfToken !== undefined) req.session.csrfToken = csrfToken;
  if (passwordConfirmedAt !== undefined) req.session.passwordConfirmedAt = passwordConfirmedAt;
  if (stepUp !== undefined) req.session.stepUp = stepUp;
  if (deviceId !== undefined) req.session.deviceId = deviceId;
  if (setupExpiresAt !== undefined) req.session.setupExpiresAt = setupExpiresAt;
}

/** Sign this session out (keeping its id and CSRF token) and say why on the next page. */
export function signOut(req: Request, reason: string): void {
  delete req.session.userId;
  delete req.session.generation;
  delete req.session.signedInAt;
  delete req.session.passwordConfirmedAt;
  delete req.session.passwordFailures;
  delete req.session.pendingStepUp;
  delete req.session.stepUp;
  delete req.session.deviceId;
  req.session.flash = { kind: 'info', text: reason };
}

/** The signed-in account of each request, read once per request by {@link enforceSessionGeneration}. */
const loaded = new WeakMap<Request, Account>();

/**
 * Ends sessions that belong to an earlier generation of their account: when
 * MFA is turned on or off (or removed by email recovery), or the password is
 * changed or reset, every session created before is signed out, e.g. a thief's session
 * on another device. The account is read from the store on every request of
 * a signed-in session (the generation may have been bumped by another app
 * process), and kept for the rest of the request ({@link signedInAccount}).
 */
export function enforceSessionGeneration(accounts: Accounts): RequestHandler {
  return async (req, _res, next) => {
    const { userId, generation } = req.session;
    if (userId !== undefined) {
      const account = await accounts.byId(userId);
      if (account === undefined || account.sessionGeneration !== generation) {
        signOut(req, 'You were signed out because the password or the two-factor settings of your account changed. Please log in again.');
      } else {
        loaded.set(req, account);
      }
    }
    next();
  };
}

/**
 * Ends a signed-in session {@link SESSION_MAX_MS} after its sign-in, even if
 * it was used a minute ago: the idle limit alone lets whoever holds a copied
 * cookie keep it alive forever. `now` is the app clock.
 */
export function enforceSessionLifetime(now: () => number): RequestHandler {
  return (req, _res, next) => {
    const { userId, signedInAt } = req.session;
    // A signed-in session without a sign-in time was not made by signIn: end it too.
    if (userId !== undefined && (signedInAt === undefined || now() - signedInAt >= SESSION_MAX_MS)) {
      signOut(req, 'Your session has expired. Please log in again.');
    }
    next();
  };
}

/** The signed-in account of this request, if any (as read at the start of the request, or signed in by it). */
export function signedInAccount(req: Request): Account | undefined {
  const account = loaded.get(req);
  return account !== undefined && account.id === req.session.userId ? account : undefined;
}

/**
 * After the current user ended all sessions (MFA on or off, a new password):
 * keep this one alive by stamping the account's current generation, read
 * again from the store (the event handler bumped it there).
 */
export async function restampSession(req: Request, accounts: Accounts, account: Account): Promise<void> {
  const fresh = await accounts.byId(account.id);
  if (fresh === undefined) return;
  req.session.generation = fresh.sessionGeneration;
  loaded.set(req, fresh);
}
