/**
 * The signed-in user's account page and its MFA actions: the list of
 * two-factor methods (rename, remove), remembered browsers (forget one,
 * forget all), new recovery codes, turning MFA off, cancelling a pending
 * email recovery.
 *
 * Forgetting a remembered browser only takes a convenience away, so it
 * needs the session and its CSRF token, nothing more; forgetting this
 * browser also clears its device cookie (device-cookie.ts). twofold forgets
 * every device by itself when a factor is removed or MFA is turned off: this
 * browser's cookie is cleared then too.
 *
 * Removing a method, new recovery codes and turning MFA off are sensitive:
 * each has a confirmation page that needs a live step-up grant (step-up.ts;
 * without one the user is sent to /mfa/step-up and comes back), and its
 * POST passes `{ stepUp: grant }` to twofold. Renaming needs only the
 * session (and its CSRF token). Cancelling a recovery needs no second
 * factor (the owner who asked for it has none) but the password again
 * (reauth.ts): a stolen cookie alone must not stop the owner's way back in.
 */
import { Router, type Request, type Response } from 'express';
import type { Account } from '../accounts.ts';
import type { AppContext } from '../context.ts';
import { html } from '../html.ts';
import { field, requireAccount, sendPage, setFlash } from '../page.ts';
import { lockedMessage, lockOf } from '../proof.ts';
import { forgetThisBrowser } from '../device-cookie.ts';
import { confirmPassword, passwordCheckMessage } from '../reauth.ts';
import { restampSession } from '../sessions.ts';
import { dropGrant, liveGrant, needsStepUp, requireStepUp, stepUpAgain } from '../step-up.ts';
import { accountPage, confirmChangePage, factorKindLabel } from '../views/mfa.ts';

/** Factor ids are twofold's (base64url); anything else in the URL is no factor of ours. */
const FACTOR_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Device ids too. */
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A label as twofold accepts it (1..64 characters, no control characters),
 * trimmed; null when it is not one. twofold throws on a bad label, so the
 * host checks first and says what is wrong.
 */
export function cleanLabel(text: string): string | null {
  const trimmed = text.trim();
  // eslint-disable-next-line no-control-regex
  if (trimmed.length === 0 || trimmed.length > 64 || !trimmed.isWellFormed() || /[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) return null;
  return trimmed;
}

export const BAD_LABEL = 'A name must be 1 to 64 characters, without line breaks or other control characters.';

export function accountRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa } = ctx;

  async function renderAccount(req: Request, res: Response, account: Account): Promise<void> {
    const [mfaStatus, factors, devices, recovery] = await Promise.all([
      mfa.status(account.id),
      mfa.listFactors(account.id),
      mfa.listDevices(account.id),
      ctx.accounts.emailRecoveryOf(account.id),
    ]);
    const stepUpUntil = liveGrant(ctx, req)?.expiresAt;
    const currentDeviceId = req.session.deviceId;
    const removedByRecoveryAt = recovery?.setUpAgain === true ? recovery.completedAt : undefined;
    sendPage(ctx, req, res, {
      title: 'Your account',
      body: (page) => accountPage(page, { status: mfaStatus, factors, keys: ctx.keys, stepUpUntil, devices, currentDeviceId, removedByRecoveryAt }),
    });
  }

  /**
   * A refused form of the account page: back to the page (POST, redirect,
   * GET: a reload does not post again), the error shown at that form's
   * field (`field`: its id) with focus on it.
   */
  function backWithError(req: Request, res: Response, text: string, field?: string): void {
    setFlash(req, 'error', text, field);
    res.redirect(303, field === undefined ? '/account' : `/account#${field}`);
  }

  /** Send a refused sensitive call where it belongs: step up again, a lock message, or the account page with a reason. */
  async function refused(req: Request, res: Response, account: Account, returnTo: string, result: { reason: string; retryAt?: number | null }, otherwise: string): Promise<void> {
    if (needsStepUp(result.reason)) return stepUpAgain(req, res, returnTo);
    setFlash(req, 'error', result.reason === 'locked' ? lockedMessage(await lockOf(mfa, account.id, result.retryAt ?? null)) : otherwise);
    res.redirect(303, '/account');
  }

  /** MFA on (or locked)? Else back to the account page saying it is off. */
  async function requireEnabled(req: Request, res: Response, account: Account): Promise<boolean> {
    const { state } = await mfa.status(account.id);
    if (state === 'enabled' || state === 'locked') return true;
    setFlash(req, 'info', 'Two-factor authentication is off.');
    res.redirect(303, '/account');
    return false;
  }

  router.get('/account', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (account) await renderAccount(req, res, account);
  });

  // --- new recovery codes -------------------------------------------------

  router.get('/mfa/recovery-codes/regenerate', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account || !(await requireEnabled(req, res, account))) return;
    const grant = requireStepUp(ctx, req, res, '/mfa/recovery-codes/regenerate');
    if (grant === undefined) return;
    sendPage(ctx, req, res, {
      title: 'New recovery codes',
      body: (page) =>
        confirmChangePage(page, {
          legend: 'Generate new recovery codes',
          text: 'Your current codes stop working at once, and the new ones are shown once: have a way to save them ready.',
          action: '/mfa/recovery-codes/regenerate',
          button: 'Generate new recovery codes',
          stepUpUntil: liveGrant(ctx, req)!.expiresAt,
        }),
    });
  });

  router.post('/mfa/recovery-codes/regenerate', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const grant = requireStepUp(ctx, req, res, '/mfa/recovery-codes/regenerate');
    if (grant === undefined) return;
    const result = await mfa.regenerateRecoveryCodes(account.id, { stepUp: grant });
    if (!result.ok) return refused(req, res, account, '/mfa/recovery-codes/regenerate', result, 'Two-factor authentication is off.');
    req.session.codesAfter = 'regenerated';
    res.redirect(303, '/mfa/recovery-codes');
  });

  // --- turning MFA off ----------------------------------------------------

  router.get('/mfa/disable', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account || !(await requireEnabled(req, res, account))) return;
    const grant = requireStepUp(ctx, req, res, '/mfa/disable');
    if (grant === undefined) return;
    sendPage(ctx, req, res, {
      title: 'Turn off two-factor authentication',
      body: (page) =>
        confirmChangePage(page, {
          legend: 'Turn off two-factor authentication',
          text: 'Every method and recovery code is removed, your password alone will sign you in, and your other sessions are signed out.',
          action: '/mfa/disable',
          button: 'Turn off',
          danger: true,
          stepUpUntil: liveGrant(ctx, req)!.expiresAt,
        }),
    });
  });

  router.post('/mfa/disable', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const grant = requireStepUp(ctx, req, res, '/mfa/disable');
    if (grant === undefined) return;
    const result = await mfa.disable(account.id, { stepUp: grant });
    if (!result.ok) return refused(req, res, account, '/mfa/disable', result, 'Two-factor authentication is already off.');
    // The grant died with the factors; the mfa.disabled event ended every session of this user (app.ts): this one stays.
    dropGrant(req);
    await restampSession(req, ctx.accounts, account);
    // twofold forgot every remembered browser: this one's cookie is dead.
    if (req.session.deviceId !== undefined) forgetThisBrowser(ctx, req, res);
    setFlash(req, 'info', 'Two-factor authentication is off. Your other sessions were signed out.');
    res.redirect(303, '/account');
  });

  // --- the list of methods ------------------------------------------------

  router.post('/mfa/factors/:id/rename', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const id = String(req.params.id);
    const label = cleanLabel(field(req, 'label'));
    if (label === null) return backWithError(req, res, BAD_LABEL, FACTOR_ID.test(id) ? `rename-${id}` : undefined);
    const result = FACTOR_ID.test(id) ? await mfa.renameFactor(account.id, id, label) : ({ ok: false, reason: 'not_found' } as const);
    if (!result.ok) return backWithError(req, res, 'That method is not on your account (any more).');
    setFlash(req, 'info', `Renamed to "${label}".`);
    res.redirect(303, '/account');
  });

  router.get('/mfa/factors/:id/remove', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const id = String(req.params.id);
    const factors = await mfa.listFactors(account.id);
    const factor = factors.find((f) => f.id === id);
    if (factor === undefined) {
      setFlash(req, 'error', 'That method is not on your account (any more).');
      return res.redirect(303, '/account');
    }
    const path = `/mfa/factors/${id}/remove`;
    const grant = requireStepUp(ctx, req, res, path);
    if (grant === undefined) return;
    const last = factors.length === 1;
    sendPage(ctx, req, res, {
      title: 'Remove a two-factor method',
      body: (page) =>
        confirmChangePage(page, {
          legend: `Remove ${factor.label}`,
          text: html`<strong>${factor.label}</strong> (${factorKindLabel(factor).toLowerCase()}) will be removed from your account.
            ${last
              ? 'It is your only method: removing it turns off two-factor authentication, deletes your recovery codes and signs your other sessions out.'
              : 'It will no longer sign you in.'}`,
          action: path,
          button: last ? 'Remove and turn off two-factor authentication' : 'Remove',
          danger: true,
          stepUpUntil: liveGrant(ctx, req)!.expiresAt,
        }),
    });
  });

  router.post('/mfa/factors/:id/remove', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const id = String(req.params.id);
    const path = `/mfa/factors/${FACTOR_ID.test(id) ? id : 'none'}/remove`;
    const grant = requireStepUp(ctx, req, res, path);
    if (grant === undefined) return;
    const label = (await mfa.listFactors(account.id)).find((f) => f.id === id)?.label;
    const result = FACTOR_ID.test(id) ? await mfa.removeFactor(account.id, id, { stepUp: grant }) : ({ ok: false, reason: 'not_found' } as const);
    if (!result.ok) return refused(req, res, account, path, result, 'That method is not on your account (any more).');
    // A factor change kills every grant (twofold's factor epoch): drop ours too. It also forgot every remembered browser.
    dropGrant(req);
    if (req.session.deviceId !== undefined) forgetThisBrowser(ctx, req, res);
    if (result.state === 'registered') {
      // The last one: that was `disable`, and mfa.disabled ended every session of this user (app.ts). This one stays.
      await restampSession(req, ctx.accounts, account);
      setFlash(req, 'info', `"${label ?? 'The method'}" was removed. Two-factor authentication is off. Your other sessions were signed out.`);
    } else {
      setFlash(req, 'info', `"${label ?? 'The method'}" was removed.`);
    }
    res.redirect(303, '/account');
  });

  // --- remembered browsers -----------------------------------------------

  router.post('/account/devices/:id/forget', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const id = String(req.params.id);
    const label = DEVICE_ID.test(id) ? (await mfa.listDevices(account.id)).find((d) => d.id === id)?.label : undefined;
    const result = DEVICE_ID.test(id) ? await mfa.forgetDevice(account.id, id) : ({ ok: false, reason: 'not_found' } as const);
    if (!result.ok) return backWithError(req, res, 'That browser is not remembered (any more).');
    const current = id === req.session.deviceId;
    if (current) forgetThisBrowser(ctx, req, res);
    setFlash(
      req,
      'info',
      `Forgot ${current ? 'this browser' : `"${label ?? 'a browser'}"`}: ${current ? 'it' : 'that browser'} will ask for your second factor at the next sign-in.`,
    );
    res.redirect(303, '/account');
  });

  router.post('/account/devices/forget-all', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const { count } = await mfa.forgetDevices(account.id);
    if (req.session.deviceId !== undefined) forgetThisBrowser(ctx, req, res);
    setFlash(
      req,
      'info',
      count === 0
        ? 'No browser was remembered.'
        : `Forgot ${count === 1 ? 'the remembered browser' : `all ${count} remembered browsers`}: every browser will ask for your second factor at the next sign-in.`,
    );
    res.redirect(303, '/account');
  });

  // --- email recovery -----------------------------------------------------

  router.post('/mfa/email-recovery/cancel', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const check = await confirmPassword(ctx, req, account, field(req, 'password'));
    if (!check.ok) {
      if (check.reason === 'signed_out') return res.redirect(303, '/login');
      return backWithError(req, res, passwordCheckMessage(check, 'cancel the email recovery'), 'cancel-password');
    }
    const result = await mfa.cancelEmailRecovery(account.id);
    setFlash(req, 'info', result.ok ? 'The email recovery was cancelled. If you did not ask for it, someone knows your password: reset it.' : 'No email recovery was pending.');
    res.redirect(303, '/account');
  });

  return router;
}
