/**
 * Adding a security key or passkey.
 *
 * GET /mfa/keys/new?name=… begins a registration (twofold's
 * `beginWebAuthnRegistration`) and shows a form carrying the creation
 * options in a data attribute; public/webauthn.js runs the browser's
 * registration and posts its answer (RegistrationResponseJSON, as JSON in
 * the `response` field) with the name to POST /mfa/keys, which calls
 * `finishWebAuthnRegistration`.
 *
 * Who may begin: a user without any factor after the password again
 * (reauth.ts, as for the first authenticator app: the key alone turns MFA
 * on, and the recovery codes are shown once next); a user who already holds
 * a factor after a step-up (step-up.ts), whose grant goes to twofold as the
 * proof.
 */
import { Router, type Request, type Response } from 'express';
import type { Account } from '../accounts.ts';
import type { AppContext } from '../context.ts';
import { crossSite, field, queryParam, requireAccount, sendPage, setFlash } from '../page.ts';
import { lockedMessage, lockOf } from '../proof.ts';
import { confirmPassword, hasRecentPassword, passwordCheckMessage, RECENT_PASSWORD_MS } from '../reauth.ts';
import { restampSession } from '../sessions.ts';
import { dropGrant, liveGrant, needsStepUp, stepUpAgain, stepUpUrl } from '../step-up.ts';
import { formatDuration } from '../time.ts';
import { addKeyPage } from '../views/mfa.ts';
import { confirmPasswordPage } from '../views/password.ts';
import { BAD_LABEL, cleanLabel } from './account.ts';

const PURPOSE = 'add a security key or passkey';
/** A registration answer with `none` attestation is well under 2 kB; refuse nonsense early. */
const MAX_RESPONSE_CHARS = 32_000;

/** The add-key page for `name` (kept across the password or step-up detour). */
export function addKeyPath(name: string): string {
  return name === '' ? '/mfa/keys/new' : `/mfa/keys/new?${new URLSearchParams({ name: name.slice(0, 64) }).toString()}`;
}

export function keyRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa } = ctx;

  function askPassword(req: Request, res: Response, name: string, status = 200, error?: string): void {
    sendPage(ctx, req, res, {
      title: 'Confirm your password',
      status,
      ...(error !== undefined ? { error: { field: 'password', text: error } } : {}),
      body: (page) => confirmPasswordPage(page, { action: '/mfa/keys/password', purpose: PURPOSE, hidden: { name } }),
    });
  }

  /**
   * Begin (or begin again) a registration and show its page; the password or
   * the step-up is checked here, the one place a registration begins.
   */
  /** `errorField`: where the error sits (`register-key`, the button, unless it is about the name). */
  async function showAddKey(req: Request, res: Response, account: Account, name: string, status = 200, error?: string, errorField = 'register-key'): Promise<void> {
    const factors = await mfa.listFactors(account.id);
    const first = factors.length === 0;
    const grant = first ? undefined : liveGrant(ctx, req)?.grant;
    if (!first && grant === undefined) return void res.redirect(303, stepUpUrl(addKeyPath(name)));
    if (first && !hasRecentPassword(ctx, req)) {
      return askPassword(req, res, name, status === 200 ? 200 : 403, status === 200 ? undefined : `Your password was confirmed more than ${formatDuration(RECENT_PASSWORD_MS)} ago: enter it again to continue.`);
    }
    const begun = await mfa.beginWebAuthnRegistration(account.id, {
      userName: account.username,
      ...(grant !== undefined ? { proof: { stepUp: grant } } : {}),
    });
    if (!begun.ok) {
      if (needsStepUp(begun.reason)) return stepUpAgain(req, res, addKeyPath(name));
      setFlash(
        req,
        'error',
        begun.reason === 'locked'
          ? lockedMessage(await lockOf(mfa, account.id, begun.retryAt))
          : begun.reason === 'limit_reached'
            ? 'You have as many security keys as an account may hold. Remove one first.'
            : 'Adding a security key did not work. Try again.',
      );
      return res.redirect(303, '/account');
    }
    sendPage(ctx, req, res, {
      title: 'Add a security key or passkey',
      status,
      scripts: true,
      ...(error !== undefined ? { error: { field: errorField, text: error } } : {}),
      body: (page) => addKeyPage(page, { options: begun.options, name, expiresAt: begun.expiresAt, first }),
    });
  }

  /** Security keys need a secure origin (relying-party.ts); without one the pages never offer them. */
  function keysOn(req: Request, res: Response): boolean {
    if (ctx.keys) return true;
    setFlash(req, 'error', 'Security keys are not available on this server: browsers offer them only on https:// or http://localhost.');
    res.redirect(303, '/account');
    return false;
  }

  router.get('/mfa/keys/new', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account || !keysOn(req, res)) return;
    const name = queryParam(req, 'name').trim().slice(0, 64);
    if (crossSite(ctx, req, res, addKeyPath(name), PURPOSE)) return;
    await showAddKey(req, res, account, name);
  });

  router.post('/mfa/keys/password', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const name = field(req, 'name').trim().slice(0, 64);
    const check = await confirmPassword(ctx, req, account, field(req, 'password'));
    if (check.ok) return res.redirect(303, addKeyPath(name));
    if (check.reason === 'signed_out') return res.redirect(303, '/login');
    askPassword(req, res, name, check.reason === 'missing' ? 400 : 401, passwordCheckMessage(check, PURPOSE));
  });

  router.post('/mfa/keys', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account || !keysOn(req, res)) return;
    const typed = field(req, 'name').trim();
    const label = typed === '' ? undefined : cleanLabel(typed);
    const name = typed.slice(0, 64);
    if (label === null) return showAddKey(req, res, account, name, 400, BAD_LABEL, 'key-name');
    const text = field(req, 'response');
    let response: unknown = null;
    if (text !== '' && text.length <= MAX_RESPONSE_CHARS) {
      try {
        response = JSON.parse(text);
      } catch {
        response = null;
      }
    }
    if (typeof response !== 'object' || response === null) {
      return showAddKey(req, res, account, name, 400, 'Your browser sent no answer from a security key. Adding one needs JavaScript and a browser that supports security keys or passkeys.');
    }

    const result = await mfa.finishWebAuthnRegistration(account.id, response, label === undefined ? {} : { label });
    if (result.ok) {
      // A factor change kills every step-up grant (twofold's factor epoch): drop ours too.
      dropGrant(req);
      const factors = await mfa.listFactors(account.id);
      const added = factors.find((f) => f.id === result.factorId);
      if (factors.length > 1) {
        setFlash(req, 'info', `"${added?.label ?? 'Security key'}" was added. It can now be used to sign in.`);
        return res.redirect(303, '/account');
      }
      // The first factor turned MFA on: the mfa.enabled event ended every other session of this user (app.ts); this one stays.
      await restampSession(req, ctx.accounts, account);
      return res.redirect(303, '/mfa/recovery-codes');
    }
    switch (result.reason) {
      case 'locked':
        setFlash(req, 'error', lockedMessage(await lockOf(mfa, account.id, result.retryAt)));
        return res.redirect(303, '/account');
      case 'limit_reached':
        setFlash(req, 'error', 'You have as many security keys as an account may hold. Remove one first.');
        return res.redirect(303, '/account');
      case 'already_registered':
        return showAddKey(req, res, account, name, 400, 'That security key is already on your account. Use another one.');
      case 'expired':
      case 'not_registering':
        return showAddKey(req, res, account, name, 400, 'That took too long, or your settings changed meanwhile. Try again.');
      case 'invalid_response':
        return showAddKey(req, res, account, name, 400, 'The answer from your security key could not be verified (made for another site, or damaged). Try again.');
    }
  });

  return router;
}
