/**
 * "Remember this browser for 30 days": the device cookie.
 *
 * twofold issues the token (`verifyLogin(..., { rememberDevice: { label } })`
 * gives `device`), keeps only an HMAC of it, and rotates it at every use
 * (`startLogin(userId, { deviceToken })` gives `rememberedDevice` with a new
 * one). The host's only job is to keep it in a cookie of its own, apart from
 * the session:
 *
 * - `__Host-twofold.device` in production: the prefix makes the browser insist
 *   on Secure, Path=/ and no Domain, so no sibling subdomain can plant or
 *   overwrite it; `twofold.device` in development (plain-http localhost,
 *   where `__Host-` cannot be used), like the session cookie (sessions.ts);
 * - HttpOnly (no script reads it), SameSite=Lax, Path=/;
 * - Expires: the device's `expiresAt`; a persistent cookie, unlike the session.
 *
 * Logging out keeps it (that is the point); forgetting the browser, a
 * password change or reset, and a login that comes back with a normal
 * challenge clear it. It is read only by the password step (routes/login.ts):
 * it never signs anyone in without the password.
 */
import type { Request, Response } from 'express';
import type { RememberedDevice } from 'twofold';
import type { AppContext } from './context.ts';

/** How long a browser stays remembered (passed to twofold as `rememberDevice.ttlMs`; the checkbox says it). */
export const REMEMBER_DEVICE_DAYS = 30;
export const REMEMBER_DEVICE_MS = REMEMBER_DEVICE_DAYS * 24 * 3_600_000;

/** A twofold device token is 89 characters; anything longer is junk anyway, and is not passed on whole. */
const MAX_TOKEN_CHARS = 200;

/** `__Host-twofold.device` in production, `twofold.device` elsewhere (as sessionCookieName). */
export function deviceCookieName(production: boolean): string {
  return production ? '__Host-twofold.device' : 'twofold.device';
}

function cookieOptions(ctx: Pick<AppContext, 'production'>) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: ctx.production, path: '/' };
}

/**
 * The device token this browser sent, or undefined. Read straight from the
 * Cookie header (the first cookie of that name; no cookie parser needed for
 * one value). A token is base64url and dots, which no cookie encodes, so the
 * value is handed to twofold as it is (cut to a few hundred characters):
 * junk, a foreign or a rotated-away token simply gets a normal challenge
 * there, and the login then clears the cookie.
 */
export function readDeviceCookie(ctx: Pick<AppContext, 'production'>, req: Request): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  const name = deviceCookieName(ctx.production);
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value === '' ? undefined : value.slice(0, MAX_TOKEN_CHARS);
  }
  return undefined;
}

/** Set (or replace, after a rotation) the device cookie until the device expires. */
export function setDeviceCookie(ctx: Pick<AppContext, 'production'>, res: Response, device: RememberedDevice): void {
  res.cookie(deviceCookieName(ctx.production), device.token, { ...cookieOptions(ctx), expires: new Date(device.expiresAt) });
}

/** Remove the device cookie (same name, path and flags, so the browser matches it). */
export function clearDeviceCookie(ctx: Pick<AppContext, 'production'>, res: Response): void {
  res.clearCookie(deviceCookieName(ctx.production), cookieOptions(ctx));
}

/**
 * This browser's remembered device was forgotten (by the owner, or with
 * every other device): clear the cookie, and the session's note of it.
 */
export function forgetThisBrowser(ctx: Pick<AppContext, 'production'>, req: Request, res: Response): void {
  delete req.session.deviceId;
  clearDeviceCookie(ctx, res);
}
