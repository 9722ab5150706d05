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
import type { PageError } from '../views/layout.ts';
import { recoveryCodesPage, recoveryCodesShownPage, setupExpiredPage, setupPage } from '../views/mfa.ts';
import { confirmPasswordPage } from '../views/password.ts';

const SETUP_PURPOSE = 'set up two-factor authentication';
/** How long after a setup ran out the page still says so (rather than just show a new one). */
const EXPIRED_NEWS_MS = 60 * 60_000;
const ALREADY_HAS_APP = 'Two-factor authentication is already on with an authenticator app. To use another app, remove this one first.';

export function enrollmentRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa } = ctx;

  /**
   * Who may begin an enrollment: the password again for a first factor, a
   * live step-up grant for more. The one place this is insisted on: every
   * route that shows a QR code or starts over comes through here. Returns
   * the proof to pass to twofold, or undefined after answering.
   */
  async function mayBegin(req: Request, res: Response, account: Account): Promise<{ first: boolean; grant: string | undefined } | undefined> {
    const factors = await mfa.listFactors(account.id);
    if (factors.some((f) => f.kind === 'totp')) {
      setFlash(req, 'error', ALREADY_HAS_APP);
      return void res.redirect(303, '/account');
    }
    const grant = factors.length > 0 ? liveGrant(ctx, req)?.grant : undefined;
    if (factors.length > 0 && grant === undefined) return void res.redirect(303, stepUpUrl('/mfa/setup'));
    if (factors.length === 0 && !hasRecentPassword(ctx, req)) {
      askPassword(req, res, 403, { field: 'password', text: `Your password was confirmed more than ${formatDuration(RECENT_PASSWORD_MS)} ago: enter it again to continue.` });
      return undefined;
    }
    return { first: factors.length === 0, grant };
  }

  /**
   * Show the setup: twofold shows a live pending enrollment again (the same
   * secret, QR code and expiry: `resumed`), so after a wrong code, a reload
   * or a second tab the entry already scanned stays right. Nothing of the
   * secret is kept here: the session holds only when the setup it was shown
   * expires (`setupExpiresAt`), so that once it has, the page says so and
   * offers a fresh start (`restart: true`) rather than quietly showing a new
   * QR code that the entry already scanned does not match.
   */
  async function showSetup(req: Request, res: Response, account: Account, status = 200, error?: PageError, restart = false): Promise<void> {
    const allowed = await mayBegin(req, res, account);
    if (allowed === undefined) return;
    const shownUntil = req.session.setupExpiresAt;
    // (A setup that ran out long ago is no news: the page then simply starts a new one.)
    if (!restart && shownUntil !== undefined && shownUntil <= ctx.now() && ctx.now() - shownUntil < EXPIRED_NEWS_MS) {
      return sendPage(ctx, req, res, {
        title: 'This setup expired',
        status: status === 200 ? 200 : 400,
        body: (page) => setupExpiredPage(page, { expiredAt: shownUntil }),
      });
    }
    const enrollment = await mfa.beginEnrollment(account.id, {
      accountName: account.username,
      ...(restart ? { restart: true } : {}),
      ...(allowed.grant !== undefined ? { proof: { stepUp: allowed.grant } } : {}),
    });
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
    req.session.setupExpiresAt = enrollment.expiresAt;
    if (restart) return res.redirect(303, '/mfa/setup');
    const first = allowed.first;
    sendPage(ctx, req, res, {
      title: first ? 'Set up two-factor authentication' : 'Add an authenticator app',
      status,
      error,
      extraScripts: ['/copy.js'],
      body: (page) =>
        setupPage(page, {
          qrDataUrl: enrollment.qrDataUrl,
          uri: enrollment.uri,
          secret: enrollment.secret,
          expiresAt: enrollment.expiresAt,
          issuer: ctx.issuer,
          accountName: account.username,
          first,
        }),
    });
  }

  function askPassword(req: Request, res: Response, status = 200, error?: PageError): void {
    sendPage(ctx, req, res, {
      title: 'Confirm your password',
      status,
      error,
      body: (page) => confirmPasswordPage(page, { action: '/mfa/setup/password', purpose: SETUP_PURPOSE }),
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
    askPassword(req, res, check.reason === 'missing' ? 400 : 401, { field: 'password', text: passwordCheckMessage(check, SETUP_PURPOSE) });
  });

  /** Start over: a new secret and QR code (`restart: true`), then the setup page. After an expired setup, or a wrong entry in the app. */
  router.post('/mfa/setup/restart', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    await showSetup(req, res, account, 200, undefined, true);
  });

  router.post('/mfa/setup', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const result = await mfa.confirmEnrollment(account.id, field(req, 'code').replace(/\s+/g, ''));
    if (result.ok) {
      delete req.session.setupExpiresAt;
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
    switch (result.reason) {
      case 'already_enabled':
        setFlash(req, 'info', ALREADY_HAS_APP);
        return res.redirect(303, '/account');
      case 'locked':
        setFlash(req, 'error', lockedMessage(await lockOf(mfa, account.id, result.retryAt)));
        return res.redirect(303, '/account');
      // The same QR code again (twofold shows a live pending enrollment again): the entry already scanned stays right.
      case 'malformed':
        return showSetup(req, res, account, 400, { field: 'code', text: 'Enter the 6-digit code your app shows (spaces are fine), then try again.' });
      case 'invalid_code':
        return showSetup(req, res, account, 400, {
          field: 'code',
          text: 'That code did not match. Check the time on your phone and try again with the code your app shows now.',
        });
      case 'expired':
        // The setup page now says it expired, and offers a fresh start.
        req.session.setupExpiresAt = Math.min(req.session.setupExpiresAt ?? ctx.now(), ctx.now());
        return res.redirect(303, '/mfa/setup');
      case 'not_enrolling':
        // Nothing pending (started over in another tab, or never begun): a new QR code, said plainly.
        // (showSetup insists on the password or the step-up first: a stolen cookie alone gets no QR code.)
        delete req.session.setupExpiresAt;
        return showSetup(req, res, account, 400, {
          field: 'code',
          text: 'That setup is no longer pending (it was started over, or it ended). Remove the entry you added from your app, then scan this new QR code.',
        });
    }
  });

  router.get('/mfa/recovery-codes', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account || crossSite(ctx, req, res, '/mfa/recovery-codes', 'show your recovery codes (they are shown only once)')) return;
    const revealed = await mfa.revealRecoveryCodes(account.id);
    if (revealed.ok) {
      // The download link and the Copy button hold the same codes as the list: one reveal, no second request.
      const after = req.session.codesAfter === 'regenerated' ? 'regenerated' : 'enabled';
      delete req.session.codesAfter;
      return sendPage(ctx, req, res, {
        title: 'Your recovery codes',
        extraScripts: ['/copy.js', '/codes.js'],
        body: (page) => recoveryCodesPage(page, { ...revealed, after }),
      });
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

  /** "I have saved my recovery codes": the page's warning on leaving ends, and the account page says what is on. */
  router.post('/mfa/recovery-codes/saved', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const { state } = await mfa.status(account.id);
    if (state === 'enabled' || state === 'locked') {
      setFlash(
        req,
        'info',
        field(req, 'after') === 'regenerated'
          ? 'Your new recovery codes are saved. Your old ones no longer work.'
          : 'Two-factor authentication is on. You will be asked for a code (or your key) when you log in.',
      );
    }
    res.redirect(303, '/account');
  });

  return router;
}
