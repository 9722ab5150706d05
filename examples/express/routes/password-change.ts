/**
 * Changing the password of the signed-in user (the account page links it).
 *
 * - The current password is always asked for, even right after a re-check
 *   (reauth.ts): a stolen session cookie must not be enough to lock the owner
 *   out. Wrong ones count towards the session's limit of wrong passwords
 *   (reauth.ts, then the session is signed out) and go through the per-IP
 *   rate limit of /login (app.ts).
 * - The new password twice, under the sign-up rules (accounts.ts).
 * - On success every other session of the account ends (a new session
 *   generation; this one is re-stamped and gets a new id), every remembered
 *   browser is forgotten (`mfa.forgetDevices`: a thief who knew the old
 *   password may have had one remembered), this browser's device cookie is
 *   cleared, and the owner is emailed.
 */
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { forgetThisBrowser, readDeviceCookie } from '../device-cookie.ts';
import { forgottenBrowsersText, passwordChangedEmail } from '../emails.ts';
import { field, requireAccount, sendPage, setFlash } from '../page.ts';
import { countWrongPassword, passwordCheckMessage } from '../reauth.ts';
import { restampSession, rotateSession } from '../sessions.ts';
import { changePasswordPage } from '../views/password.ts';

export const PASSWORD_CHANGE_PATH = '/account/password';

export function passwordChangeRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa, accounts, outbox } = ctx;

  router.get(PASSWORD_CHANGE_PATH, (req, res) => {
    if (!requireAccount(ctx, req, res)) return;
    sendPage(ctx, req, res, { title: 'Change your password', body: (page) => changePasswordPage(page) });
  });

  router.post(PASSWORD_CHANGE_PATH, async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const fail = (status: number, field: string, text: string) =>
      sendPage(ctx, req, res, { title: 'Change your password', status, error: { field, text }, body: (page) => changePasswordPage(page) });
    const current = field(req, 'currentPassword');
    const next = field(req, 'newPassword');
    if (current === '' || next === '') return fail(400, current === '' ? 'current-password' : 'new-password', 'Enter your current password, and the new one twice.');
    if (next !== field(req, 'newPasswordAgain')) return fail(400, 'new-password-again', 'The two new passwords are not the same. Type the new one twice.');

    const result = await accounts.changePassword(account.id, current, next);
    if (!result.ok) {
      if (result.reason !== 'wrong') return fail(400, 'new-password', result.message);
      const check = countWrongPassword(req);
      if (check.reason === 'signed_out') return res.redirect(303, '/login');
      return fail(401, 'current-password', passwordCheckMessage(check, 'change your password'));
    }

    // Every other session ends; this one stays, under a new id (a copy of its old cookie is dead too).
    await accounts.endSessions(account.id);
    await rotateSession(req);
    await restampSession(req, accounts, account);
    // Every remembered browser asks for the second factor again, this one included.
    const { count: devicesForgotten } = await mfa.forgetDevices(account.id);
    if (req.session.deviceId !== undefined || readDeviceCookie(ctx, req) !== undefined) forgetThisBrowser(ctx, req, res);
    outbox.send({ to: account.email, ...passwordChangedEmail(account, ctx.now(), { via: 'change', devicesForgotten }) });

    setFlash(req, 'info', 'Your password was changed. Your other sessions were signed out.' + forgottenBrowsersText(devicesForgotten));
    res.redirect(303, '/account');
  });

  return router;
}
