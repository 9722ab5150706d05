/**
 * Adding an authenticator app: the password again (first factor) or a
 * step-up (the user already holds a security key), the QR code and key,
 * the confirming code; when it was the first factor (MFA turns on), the
 * recovery codes shown once.
 *
 * The password comes first (reauth.ts) because a stolen session cookie
 * must not be enough to put the account on the thief's phone: that would
 * lock the owner out of their own account and sign their other sessions out.
 * A user who already holds a factor confirms that factor instead
 * (step-up.ts): twofold insists on a proof, and a fresh second factor is
 * more than a password.
 */
import { Router, type Request, type Response } from 'express';
import type { Account } from '../accounts.ts';
import type { AppContext } from '../context.ts';
import { crossSite, field, requireAccount, sendPage, setFlash } from '../page.ts';
import { lockedMessage, lockOf } from '../proof.ts';
import { confirmPassword, hasRecentPassword, passwordCheckMessage, RECENT_PASSWORD_MS } from '../reauth.ts';
import { restampSession } from '../sessions.ts';
import { dropGrant, liveGrant, needsStepUp, stepUpAgain, stepUpUrl } from '../step-up.ts';
import { formatDuration } from '../time.ts';
import { recoveryCodesPage, recoveryCodesShownPage, setupPage } from '../views/mfa.ts';
import { confirmPasswordPage } from '../views/password.ts';

const SETUP_PURPOSE = 'set up two-factor authentication';
const ALREADY_HAS_APP = 'Two-factor authentication is already on with an authenticator app. To use another app, remove this one first.';

export function enrollmentRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa } = ctx;

  /**
   * Begin (or begin again) an enrollment and show its QR code. After a wrong
   * code we begin again rather than keep the pending secret: twofold hands
   * out a secret exactly once, and keeping a copy ourselves (say, in the
   * session) would put a plaintext TOTP secret into the session store. The
   * price is one more scan after a typo; the page says so. The QR and key on
   * the page are therefore always the secret the next code is checked against.
   */
  async function showSetup(req: Request, res: Response, account: Account, status = 200, error?: string): Promise<void> {
    // The one place an enrollment begins, so the one place the password (first
    // factor) or the step-up (more factors) is insisted on: a POST with any
    // code lands here too, and must not show a QR code without it.
    const factors = await mfa.listFactors(account.id);
    if (factors.some((f) => f.kind === 'totp')) {
      setFlash(req, 'error', ALREADY_HAS_APP);
      return res.redirect(303, '/account');
    }
    const grant = factors.length > 0 ? liveGrant(ctx, req)?.grant : undefined;
    if (factors.length > 0 && grant === undefined) return void res.redirect(303, stepUpUrl('/mfa/setup'));
    if (factors.length === 0 && !hasRecentPassword(ctx, req)) {
      return askPassword(req, res, 403, `Your password was confirmed more than ${formatDuration(RECENT_PASSWORD_MS)} ago: enter it again to continue.`);
    }
    const enrollment = await mfa.beginEnrollment(account.id, { accountName: account.username, ...(grant !== undefined ? { proof: { stepUp: grant } } : {}) });
    if (!enrollment.ok) {
      if (needsStepUp(enrollment.reason)) return stepUpAgain(req, res, '/mfa/setup');
      setFlash(
        req,
        'error',
        enrollment.reason === 'locked'
          ? lockedMessage(await lockOf(mfa, account.id, enrollment.retryAt))
          : enrollment.reason === 'already_enabled'
            ? ALREADY_HAS_APP
            : 'Adding an authenticator app did not work. Try again.',
      );
      return res.redirect(303, '/account');
    }
    const first = factors.length === 0;
    sendPage(ctx, req, res, {
      title: first ? 'Set up two-factor authentication' : 'Add an authenticator app',
      status,
      body: (page) => setupPage(page, { qrDataUrl: enrollment.qrDataUrl, secret: enrollment.secret, expiresAt: enrollment.expiresAt, first, error }),
    });
  }

  function askPassword(req: Request, res: Response, status = 200, error?: string): void {
    sendPage(ctx, req, res, {
      title: 'Confirm your password',
      status,
      body: (page) => confirmPasswordPage(page, { action: '/mfa/setup/password', purpose: SETUP_PURPOSE, error }),
    });
  }

  router.get('/mfa/setup', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account || crossSite(ctx, req, res, '/mfa/setup', SETUP_PURPOSE)) return;
    // Nothing to set up (no password asked for nothing): an app already, or a lock that stops any setup.
    const [status, factors] = await Promise.all([mfa.status(account.id), mfa.listFactors(account.id)]);
    if (factors.some((f) => f.kind === 'totp') || status.state === 'locked') {
      setFlash(req, 'error', status.state === 'locked' ? lockedMessage({ retryAt: status.lockedUntil ?? null, cause: status.lockCause }) : ALREADY_HAS_APP);
      return res.redirect(303, '/account');
    }
    if (factors.length === 0 && !hasRecentPassword(ctx, req)) return askPassword(req, res);
    await showSetup(req, res, account);
  });

  router.post('/mfa/setup/password', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const check = await confirmPassword(ctx, req, account, field(req, 'password'));
    if (check.ok) return res.redirect(303, '/mfa/setup');
    if (check.reason === 'signed_out') return res.redirect(303, '/login');
    askPassword(req, res, check.reason === 'missing' ? 400 : 401, passwordCheckMessage(check, SETUP_PURPOSE));
  });

  router.post('/mfa/setup', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const result = await mfa.confirmEnrollment(account.id, field(req, 'code').replace(/\s+/g, ''));
    if (result.ok) {
      // A factor change kills every step-up grant (twofold's factor epoch): drop ours too.
      dropGrant(req);
      const factors = await mfa.listFactors(account.id);
      if (factors.length > 1) {
        setFlash(req, 'info', 'Your authenticator app was added. It can now be used to sign in.');
        return res.redirect(303, '/account');
      }
      // The first factor: the mfa.enabled event ended every other session of this user (app.ts); this one stays.
      await restampSession(req, ctx.accounts, account);
      return res.redirect(303, '/mfa/recovery-codes');
    }
    const rescan = 'We made a new QR code: remove the entry you just added from your app, scan this one and enter its code.';
    switch (result.reason) {
      case 'already_enabled':
        setFlash(req, 'info', ALREADY_HAS_APP);
        return res.redirect(303, '/account');
      case 'locked':
        setFlash(req, 'error', lockedMessage(await lockOf(mfa, account.id, result.retryAt)));
        return res.redirect(303, '/account');
      // The same QR code again (twofold shows a live pending enrollment again): the entry already scanned stays right.
      case 'malformed':
        return showSetup(req, res, account, 400, 'Enter the 6-digit code your app shows, then try again.');
      case 'invalid_code':
        return showSetup(req, res, account, 400, 'That code did not match. Check the time on your phone and try again with the code your app shows now.');
      case 'expired':
      case 'not_enrolling':
        return showSetup(req, res, account, 400, `That setup expired. ${rescan}`);
    }
  });

  router.get('/mfa/recovery-codes', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account || crossSite(ctx, req, res, '/mfa/recovery-codes', 'show your recovery codes (they are shown only once)')) return;
    const revealed = await mfa.revealRecoveryCodes(account.id);
    if (revealed.ok) {
      // The download link holds the same text as the list: one reveal, no second request.
      return sendPage(ctx, req, res, { title: 'Your recovery codes', body: (page) => recoveryCodesPage(page, revealed) });
    }
    if (revealed.reason === 'not_enrolled') {
      setFlash(req, 'error', 'Set up two-factor authentication first.');
      return res.redirect(303, '/account');
    }
    if (revealed.reason === 'locked') {
      // Not shown while locked: the codes wait until the lock ends.
      setFlash(req, 'error', lockedMessage(await lockOf(mfa, account.id, revealed.retryAt)));
      return res.redirect(303, '/account');
    }
    sendPage(ctx, req, res, { title: 'Recovery codes already shown', body: (page) => recoveryCodesShownPage(page) });
  });

  return router;
}
