/**
 * Sessions of the host. twofold never creates them: a user is signed in
 * only after the password step says MFA is not required, or after the
 * second factor was verified. Until then the session holds only a pending
 * marker with the challenge, which grants nothing.
 */
import session from 'express-session';
import type { Request, RequestHandler } from 'express';
import type { Account, Accounts } from './accounts.ts';
import type { Flash } from './views/layout.ts';

/** Between the password and the second factor: the challenge from `startLogin`, server-side only. */
export interface PendingMfa {
  userId: string;
  challenge: string;
  /** When the challenge expires (ms since epoch). */
  expiresAt: number;
}

declare module 'express-session' {
  interface SessionData {
    csrfToken: string;
    /** Present only in a signed-in session. */
    userId: string;
    /** The account's session generation when this session was signed in (see Accounts.endSessions). */
    generation: number;
    pendingMfa: PendingMfa;
    flash: Flash;
  }
}

const SESSION_HOURS = 8;

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
      maxAge: SESSION_HOURS * 3_600_000,
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

/** The one place a signed-in session is created: a fresh session id, stamped with the account's generation. */
export async function signIn(req: Request, account: Account): Promise<void> {
  await regenerateSession(req);
  req.session.userId = account.id;
  req.session.generation = account.sessionGeneration;
}

/**
 * Ends sessions that belong to an earlier generation of their account: when
 * MFA is turned on or off (or removed by email recovery), every session
 * created before is signed out, e.g. a thief's session on another device.
 */
export function enforceSessionGeneration(accounts: Accounts): RequestHandler {
  return (req, _res, next) => {
    const { userId, generation } = req.session;
    if (userId !== undefined) {
      const account = accounts.byId(userId);
      if (account === undefined || account.sessionGeneration !== generation) {
        delete req.session.userId;
        delete req.session.generation;
        req.session.flash = {
          kind: 'info',
          text: 'You were signed out because the two-factor settings of your account changed. Please log in again.',
        };
      }
    }
    next();
  };
}

/** The signed-in account of this request, if any. */
export function signedInAccount(req: Request, accounts: Accounts): Account | undefined {
  return req.session.userId === undefined ? undefined : accounts.byId(req.session.userId);
}

/** After the current user ended all sessions (MFA on or off): keep this one alive by stamping the new generation. */
export function restampSession(req: Request, account: Account): void {
  req.session.generation = account.sessionGeneration;
}
