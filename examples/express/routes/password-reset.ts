/**
 * "Forgot your password?": a new password by emailed link.
 *
 * - The request form answers the same whether or not the username or email
 *   belongs to an account, so it does not reveal who has one (it does one
 *   more database write for an account, the token's hash; the sign-up form
 *   tells which usernames are taken anyway); it is rate-limited per IP like
 *   /login (app.ts).
 * - The link holds a random single-use token; only its SHA-256 is kept
 *   (accounts.ts), it expires after an hour, and a newer request replaces
 *   it. It is built from the public origin, never from the Host header
 *   (links.ts).
 * - Opening the link (a GET, which mail scanners and link previews also do)
 *   only shows a form; the token is used up by the form's CSRF-protected POST,
 *   in one conditional write that only one submit wins, whichever app process
 *   it reaches.
 * - A new password ends every session of the account, forgets every
 *   remembered browser (`mfa.forgetDevices`: whoever took the old password
 *   may have had one remembered), and ends a lock caused
 *   by wrong codes: a temporary one, and the one after 100 failures, which
 *   proves the old password was known (emails.ts tells the owner so). It
 *   never ends support's manual lock: `unlock` with `causes` decides that in
 *   the same atomic write as the unlock, so no race can end a manual lock.
 *
 * Resetting the password does not touch the second factor: whoever controls
 * the mailbox still needs the authenticator app or a recovery code to sign in.
 */
import { Router } from 'express';
import { normalizeUsername, PASSWORD_RESET_TTL_MS } from '../accounts.ts';
import type { AppContext } from '../context.ts';
import { clearDeviceCookie, readDeviceCookie } from '../device-cookie.ts';
import { forgottenBrowsersText, passwordChangedEmail, passwordResetEmail, type ResetLockOutcome } from '../emails.ts';
import { field, queryParam, sendPage, setFlash } from '../page.ts';
import { regenerateSession } from '../sessions.ts';
import { forgotPasswordPage, forgotPasswordSentPage, resetPasswordPage, resetPasswordRefusedPage, resetRefusedMessage } from '../views/password.ts';

export function passwordResetRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa, accounts, outbox } = ctx;

  router.get('/forgot-password', (req, res) => {
    // `username` prefills the form: the lock email links here with it.
    sendPage(ctx, req, res, { title: 'Forgot your password?', body: (page) => forgotPasswordPage(page, { login: queryParam(req, 'username') }) });
  });

  router.post('/forgot-password', async (req, res) => {
    const login = field(req, 'login').trim();
    if (login === '') {
      return sendPage(ctx, req, res, {
        title: 'Forgot your password?',
        status: 400,
        error: { field: 'login', text: 'Enter your username or email address.' },
        body: (page) => forgotPasswordPage(page),
      });
    }
    const account = await accounts.byUsernameOrEmail(login);
    const started = await accounts.startPasswordReset(account?.id, ctx.now());
    if (account !== undefined && started !== undefined) {
      const link = ctx.origin.link('/reset-password', { user: account.username, token: started.token });
      // To the account's own address, whatever was typed: the form never sends mail elsewhere.
      outbox.send({ to: account.email, ...passwordResetEmail(account, link, started.expiresAt) });
    }
    // Post, redirect, get: a reload shows the page again, it does not send another email.
    res.redirect(303, '/forgot-password/sent');
  });

  router.get('/forgot-password/sent', (req, res) => {
    sendPage(ctx, req, res, { title: 'Check your email', body: (page) => forgotPasswordSentPage(page, PASSWORD_RESET_TTL_MS) });
  });

  // The emailed link. Shows the form and uses nothing up. Referrer-Policy:
  // no-referrer (helmet) keeps the token out of the Referer of anything this
  // page loads, and Cache-Control: no-store out of caches.
  router.get('/reset-password', async (req, res) => {
    const username = queryParam(req, 'user');
    const token = queryParam(req, 'token');
    const state = await accounts.checkPasswordReset(username, token, ctx.now());
    if (state !== 'ok') {
      return sendPage(ctx, req, res, { title: 'Reset your password', status: 400, error: { text: resetRefusedMessage(state) }, body: (page) => resetPasswordRefusedPage(page, state) });
    }
    sendPage(ctx, req, res, { title: 'Reset your password', body: (page) => resetPasswordPage(page, { username: normalizeUsername(username), token }) });
  });

  router.post('/reset-password', async (req, res) => {
    const username = field(req, 'user');
    const token = field(req, 'token');
    const result = await accounts.resetPassword(username, token, field(req, 'password'), ctx.now());
    if (!result.ok) {
      if (result.reason === 'weak') {
        return sendPage(ctx, req, res, {
          title: 'Reset your password',
          status: 400,
          error: { field: 'password', text: result.message },
          body: (page) => resetPasswordPage(page, { username: normalizeUsername(username), token }),
        });
      }
      const reason = result.reason;
      return sendPage(ctx, req, res, { title: 'Reset your password', status: 400, error: { text: resetRefusedMessage(reason) }, body: (page) => resetPasswordRefusedPage(page, reason) });
    }

    const { account } = result;
    // Every session of the account ends, a thief's first of all; this browser
    // gets a fresh session id with nothing carried over.
    await accounts.endSessions(account.id);
    await regenerateSession(req);
    // Every remembered browser must enter the second factor again, this one too (its cookie is dead: drop it).
    const { count: devicesForgotten } = await mfa.forgetDevices(account.id);
    if (readDeviceCookie(ctx, req) !== undefined) clearDeviceCookie(ctx, res);
    // Only locks caused by failures; support's manual lock stays (decided atomically by twofold).
    const unlock = await mfa.unlock(account.id, { causes: ['failures', 'failure_limit'] });
    const lock: ResetLockOutcome = unlock.ok ? 'ended' : unlock.reason === 'cause_mismatch' ? 'kept_manual' : 'none';
    outbox.send({ to: account.email, ...passwordChangedEmail(account, ctx.now(), { via: 'reset', lock, devicesForgotten }) });

    setFlash(
      req,
      lock === 'kept_manual' ? 'error' : 'info',
      'Your password was changed and every session of your account was signed out.' +
        forgottenBrowsersText(devicesForgotten) +
        (lock === 'ended' ? ' The lock on your account has ended.' : '') +
        (lock === 'kept_manual' ? ' Your account stays locked by support: only support can unlock it.' : '') +
        ' Log in with your new password.',
    );
    res.redirect(303, '/login');
  });

  return router;
}
