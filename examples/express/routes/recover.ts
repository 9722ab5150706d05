/**
 * "Lost your phone and your codes?": email recovery. Only someone who just
 * passed the password step may ask; the emailed link works only after the
 * waiting period, and the owner hears about every step (emails.ts), so a
 * thief holding the password and the mailbox is seen and can be stopped.
 */
import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.ts';
import { html } from '../html.ts';
import { queryParam, sendPage } from '../page.ts';
import { notice } from '../views/layout.ts';
import { lockedMessage, lockOf } from '../proof.ts';
import { emailTime, relativeTime } from '../time.ts';
import { lockedPage, recoverCompletePage, recoverOutcomeMessage, recoverRequestedPage, recoverRequestPage, type RecoverOutcome } from '../views/auth.ts';
import { backToLogin, SIGN_IN_EXPIRED, SIGN_IN_FIRST, SIGN_IN_INVALID } from './login.ts';

/** `al…@example.test`: enough for the owner to recognise, little for someone who only has the password. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  return `${email.slice(0, Math.min(2, at))}…${email.slice(at)}`;
}

export function recoverRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa, accounts, outbox } = ctx;

  /** The pending marker, if it is still fresh; otherwise redirects to /login and returns undefined. */
  function livePending(req: Request, res: Response) {
    const pending = req.session.pendingMfa;
    if (pending === undefined) return void backToLogin(req, res, SIGN_IN_FIRST);
    if (pending.expiresAt <= ctx.now()) return void backToLogin(req, res, SIGN_IN_EXPIRED);
    return pending;
  }

  router.get('/login/recover', async (req, res) => {
    const pending = livePending(req, res);
    if (!pending) return;
    // Nothing to request while locked: the lock screen instead.
    const status = await mfa.status(pending.userId);
    if (status.state === 'locked') {
      return sendPage(ctx, req, res, {
        title: 'Your account is locked',
        status: 429,
        body: (page) => lockedPage(page, { retryAt: status.lockedUntil ?? null, cause: status.lockCause, signedIn: false }),
      });
    }
    sendPage(ctx, req, res, { title: 'Lost your phone and your codes?', body: (page) => recoverRequestPage(page, ctx.emailRecoveryDelayMs) });
  });

  router.post('/login/recover', async (req, res) => {
    const pending = livePending(req, res);
    if (!pending) return;
    const account = await accounts.byId(pending.userId);
    if (account === undefined) return backToLogin(req, res, SIGN_IN_INVALID);
    const result = await mfa.requestEmailRecovery(account.id);
    if (!result.ok) {
      // Refused while locked: a locked owner could not sign in to stop a recovery.
      if (result.reason === 'locked') {
        const lock = lockedMessage(await lockOf(mfa, account.id, result.retryAt));
        return backToLogin(req, res, { ...lock, text: `${lock.text} Email recovery cannot be requested while your account is locked.` });
      }
      return backToLogin(req, res, 'Two-factor authentication is not on for this account: log in with your password.');
    }

    // Never from the Host header, which the client chooses: a forged one
    // would send the token to someone else's server (links.ts).
    const link = ctx.origin.link('/login/recover/complete', { user: account.username, token: result.token });
    // A message that carries a secret: written here because only this route holds the token.
    outbox.send({
      to: account.email,
      subject: 'Your recovery link',
      text:
        `Hello ${account.username},\n\nto remove two-factor authentication from your account, open this link ` +
        `after the waiting period:\n\n${link}\n\nIt works from ${emailTime(result.notBefore, 'up')} ` +
        `(${relativeTime(result.notBefore, ctx.now())}) until ${emailTime(result.expiresAt)}. If you did not ask for this, ignore this email and sign in ` +
        'with your authenticator app or a recovery code, which cancels the recovery.',
    });
    // Post, redirect, get: a reload shows the page again, it does not ask for (and email) another link.
    res.redirect(303, '/login/recover/sent');
  });

  router.get('/login/recover/sent', async (req, res) => {
    const pending = livePending(req, res);
    if (!pending) return;
    const [account, status] = await Promise.all([accounts.byId(pending.userId), mfa.status(pending.userId)]);
    const recovery = status.pendingEmailRecovery;
    if (account === undefined || recovery === undefined) return res.redirect(303, '/login/recover');
    sendPage(ctx, req, res, {
      title: 'Check your email',
      body: (page) => recoverRequestedPage(page, { maskedEmail: maskEmail(account.email), notBefore: recovery.notBefore, expiresAt: recovery.expiresAt }),
    });
  });

  // A GET because it is the link in the email. The token travels in this one
  // URL only; it is never logged, and Referrer-Policy: no-referrer (helmet)
  // keeps it out of the Referer of anything this page loads or links to.
  router.get('/login/recover/complete', async (req, res) => {
    const account = await accounts.byUsername(queryParam(req, 'user'));
    const token = queryParam(req, 'token');
    let outcome: RecoverOutcome = { kind: 'invalid' };
    if (account !== undefined) {
      const result = await mfa.completeEmailRecovery(account.id, token);
      if (result.ok) {
        // The challenge in a pending marker died with the second factor.
        delete req.session.pendingMfa;
        // Kept (its token's SHA-256) so the link, opened again, says it was used; the account page asks to set MFA up again.
        await accounts.noteEmailRecovery(account.id, token, ctx.now());
        outcome = { kind: 'completed' };
      } else {
        switch (result.reason) {
          case 'too_early':
            outcome = { kind: 'too_early', notBefore: (await mfa.status(account.id)).pendingEmailRecovery?.notBefore };
            break;
          case 'expired':
          case 'cancelled':
            outcome = { kind: result.reason };
            break;
          case 'invalid_token':
          case 'not_requested': {
            // Only whoever holds the link's token learns that it was used (the token's hash matches the note).
            const used = await accounts.usedRecoveryToken(account.id, token);
            outcome = used !== undefined ? { kind: 'used', completedAt: used.completedAt } : { kind: 'invalid' };
            break;
          }
          case 'malformed':
            outcome = { kind: 'invalid' };
            break;
        }
      }
    }
    const completed = outcome.kind === 'completed';
    const message = recoverOutcomeMessage(outcome);
    sendPage(ctx, req, res, {
      title: 'Email recovery',
      status: completed ? 200 : outcome.kind === 'used' ? 410 : 400,
      ...(completed || outcome.kind === 'used' ? {} : { error: { text: message } }),
      body: (page) => html`${completed || outcome.kind === 'used' ? notice('info', message) : ''}${recoverCompletePage(page, outcome)}`,
    });
  });

  return router;
}
