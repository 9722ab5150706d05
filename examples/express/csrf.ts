/**
 * CSRF protection with a synchronizer token: a random token lives in the
 * session, every POST form carries it in a hidden `_csrf` field, and a POST
 * without the same token is refused with 403. Another site can make a
 * browser send our cookie, but it cannot read our pages to learn the token.
 * (SameSite=Lax cookies already stop most cross-site POSTs; the token is
 * the defence that does not depend on the browser.)
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** The session's token, created on first use (so the login form of a new visitor has one too). */
export function csrfToken(req: Request): string {
  req.session.csrfToken ??= randomBytes(32).toString('base64url');
  return req.session.csrfToken;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time comparison; hashing first gives equal lengths, so the length is not leaked either. */
function sameToken(sent: unknown, expected: string | undefined): boolean {
  if (typeof sent !== 'string' || sent === '' || expected === undefined) return false;
  return timingSafeEqual(digest(sent), digest(expected));
}

/** Refuses (via `reject`) every request with a body-changing method whose `_csrf` field does not match the session. */
export function csrfProtection(reject: (req: Request, res: Response) => void): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const sent = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (sameToken(sent, req.session.csrfToken)) return next();
    reject(req, res);
  };
}
