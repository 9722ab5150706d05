/**
 * Signing in: the password step, then (for users with MFA) the second
 * factor with an authenticator code, a security key or a recovery code,
 * and logging out.
 *
 * A remembered browser (device-cookie.ts): the password step hands the
 * device cookie to `startLogin(userId, { deviceToken })`. When twofold
 * accepts it, it comes back rotated (`rememberedDevice`): the new token
 * replaces the cookie and the user is signed in without a code. When a
 * normal challenge comes back instead, the token was junk, foreign, expired,
 * forgotten or a rotated-away copy: the cookie is cleared. A lock wins over
 * the cookie (twofold decides): the usual lock message. The code and key
 * forms carry "Remember this browser for 30 days", which becomes
 * `verifyLogin(..., { rememberDevice: { label } })` with a label made from
 * the User-Agent (browser-label.ts) and sets the cookie.
 *
 * A security key: the code page carries startLogin's request options (the
 * `webauthn` member) in a data attribute; public/webauthn.js asks the
 * browser for an assertion and posts it, as JSON in a form field, to
 * POST /login/webauthn, which answers exactly like the code form. The
 * twofold challenge stays in the session; the options' WebAuthn challenge
 * is derived from it, so it dies with it.
 */
import { Router, type Request, type Response } from 'express';
import type { LoginMethod, Proof } from 'twofold';
import type { AppContext } from '../context.ts';
import { field, sendPage, setFlash } from '../page.ts';
import { explainProofFailure, keyResponseFrom, lockOf, NO_KEY_ANSWER, proofFromCode, proofKind, type Lock } from '../proof.ts';
import { browserLabel } from '../browser-label.ts';
import { clearDeviceCookie, readDeviceCookie, REMEMBER_DEVICE_DAYS, setDeviceCookie } from '../device-cookie.ts';
import { destroySession, regenerateSession, sessionCookieName, signIn, type PendingMfa } from '../sessions.ts';
import { lockedPage, loginCodePage, loginPage, loginRecoveryCodePage } from '../views/auth.ts';
import type { Message, PageError } from '../views/layout.ts';
import { FEW_CODES } from '../views/mfa.ts';

/** The same words whether the username is unknown or the password wrong, so the form does not reveal who has an account. */
export const WRONG_CREDENTIALS = 'Wrong username or password.';

export const SIGN_IN_FIRST = 'Log in with your password first.';
export const SIGN_IN_EXPIRED = 'That sign-in took too long. Please enter your password again.';
export const SIGN_IN_INVALID = 'That sign-in attempt is no longer valid. Please enter your password again.';

/** Drop the pending marker and start over at the password step, with a reason. */
export function backToLogin(req: Request, res: Response, message: string | Message): void {
  delete req.session.pendingMfa;
  setFlash(req, 'error', message);
  res.redirect(303, '/login');
}

/** What the pending login may be answered with (a marker from before `methods` was kept: the code forms). */
function methodsOf(pending: PendingMfa): LoginMethod[] {
  return pending.methods ?? ['totp', 'recovery_code'];
}

/** Whether "Remember this browser" was ticked (an unticked checkbox sends nothing). */
function rememberTicked(req: Request): boolean {
  return field(req, 'remember') === '1';
}

export function loginRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa, accounts } = ctx;

  /**
   * A locked account's own screen (shown only after the right password):
   * how long, what waits too, and no code field. `status` 429 after a
   * refused attempt.
   */
  function lockScreen(req: Request, res: Response, lock: Lock, status = 429): void {
    sendPage(ctx, req, res, {
      title: 'Your account is locked',
      status,
      body: (page) => lockedPage(page, { retryAt: lock.retryAt, cause: lock.cause, signedIn: false }),
    });
  }

  router.get('/login', (req, res) => {
    sendPage(ctx, req, res, { title: 'Log in', body: (page) => loginPage(page) });
  });

  router.post('/login', async (req, res) => {
    const username = field(req, 'username');
    const password = field(req, 'password');
    const fail = (status: number, error: PageError) => sendPage(ctx, req, res, { title: 'Log in', status, error, body: (page) => loginPage(page, { username }) });
    if (username === '') return fail(400, { field: 'username', text: 'Enter your username and password.' });
    if (password === '') return fail(400, { field: 'password', text: 'Enter your password.' });

    const account = await accounts.checkPassword(username, password);
    if (!account) return fail(401, { field: 'password', text: WRONG_CREDENTIALS });

    // Only now, after the right password, is the device cookie looked at: alone it signs nobody in.
    const deviceToken = readDeviceCookie(ctx, req);
    const start = await mfa.startLogin(account.id, deviceToken === undefined ? {} : { deviceToken });
    if (!start.mfaRequired) {
      if (start.rememberedDevice !== undefined) {
        // A remembered browser: twofold accepted the token and rotated it (the old one is dead). Replace the cookie.
        setDeviceCookie(ctx, res, start.rememberedDevice);
        await signIn(req, account, ctx.now(), start.rememberedDevice.id);
        setFlash(req, 'info', {
          text: 'Signed in without a code: this browser is remembered until {when}.',
          when: { at: start.rememberedDevice.expiresAt, rounding: 'down' },
        });
        return res.redirect(303, '/account');
      }
      // No second factor enabled: the password was enough. (Turning MFA off forgot every device: drop a stale cookie.)
      if (deviceToken !== undefined) clearDeviceCookie(ctx, res);
      await signIn(req, account, ctx.now());
      return res.redirect(303, '/account');
    }
    // Shown only after a correct password, so a stranger learns nothing from it. A lock wins over
    // a remembered browser (twofold decides); the cookie is kept and works again once the lock ends.
    if (!start.ok) return lockScreen(req, res, await lockOf(mfa, account.id, start.retryAt));

    // A challenge although a device cookie was sent: the token is unknown, expired, forgotten, someone
    // else's, or a copy that was rotated away (twofold forgot that device and emailed the owner). It is dead.
    // (Within twofold's 60 s grace it may also be this browser's own previous token, sent again by a double
    // submit or a second tab: twofold does not say which. Should this answer reach the browser after the one
    // that carried the rotated token, the browser is simply asked for a code from then on.)
    if (deviceToken !== undefined) clearDeviceCookie(ctx, res);

    // NOT signed in: the new session (fresh id) holds only the challenge. Every
    // signed-in route checks `userId`, which is not set until verifyLogin succeeds.
    await regenerateSession(req);
    req.session.pendingMfa = { userId: account.id, challenge: start.challenge, expiresAt: start.expiresAt, methods: start.methods };
    if (start.webauthn !== undefined) req.session.pendingMfa.webauthn = start.webauthn;
    res.redirect(303, '/login/mfa');
  });

  /**
   * Verify a second factor against the pending challenge; sign in on success.
   * `remember`: the box was ticked (the code and key forms only).
   */
  async function verify(req: Request, res: Response, proof: Proof | null, form: 'code' | 'recovery', key = false, remember = false): Promise<void> {
    const pending = req.session.pendingMfa;
    if (pending === undefined) return backToLogin(req, res, SIGN_IN_FIRST);
    // The error sits at what was used: the key button, or the code field of the form.
    const errorField = key ? 'use-key' : form === 'code' ? 'code' : 'recoveryCode';
    const render = (status: number, error: Message) =>
      sendPage(ctx, req, res, {
        title: form === 'code' ? 'Two-factor authentication' : 'Use a recovery code',
        status,
        scripts: form === 'code' && pending.webauthn !== undefined,
        error: { ...error, field: errorField },
        body: (page) =>
          form === 'code'
            ? loginCodePage(page, { methods: methodsOf(pending), webauthn: pending.webauthn, remember: { days: REMEMBER_DEVICE_DAYS, checked: remember } })
            : loginRecoveryCodePage(page),
      });
    if (proof === null) {
      if (key) return render(400, { text: NO_KEY_ANSWER });
      return render(400, { text: form === 'code' && methodsOf(pending).includes('totp') ? 'Enter the 6-digit code from your app.' : 'Enter a recovery code.' });
    }

    // The label is only a name for the account page's list (browser-label.ts); the User-Agent decides nothing.
    const options = remember ? { rememberDevice: { label: browserLabel(req.get('user-agent')) } } : {};
    const result = await mfa.verifyLogin(pending.challenge, proof, options);
    if (result.ok) {
      const account = await accounts.byId(result.userId);
      if (account === undefined) return backToLogin(req, res, SIGN_IN_INVALID);
      if (result.device !== undefined) setDeviceCookie(ctx, res, result.device);
      // The session is created here and only here, with a new id (the pending one dies with its marker).
      await signIn(req, account, ctx.now(), result.device?.id);
      if (result.method === 'recovery_code') {
        const left = result.recoveryCodesRemaining;
        setFlash(
          req,
          left <= FEW_CODES ? 'error' : 'info',
          `Signed in with a recovery code. ${left} recovery code${left === 1 ? '' : 's'} left.` +
            (left <= FEW_CODES ? ' Generate new ones below before you run out.' : ''),
        );
      }
      return res.redirect(303, '/account');
    }
    switch (result.reason) {
      case 'challenge_expired':
        return backToLogin(req, res, SIGN_IN_EXPIRED);
      case 'challenge_invalid': // forged, spent, or MFA was turned off meanwhile
      case 'not_enrolled':
        return backToLogin(req, res, SIGN_IN_INVALID);
      case 'locked':
        return lockScreen(req, res, await lockOf(mfa, pending.userId, result.retryAt));
      default: {
        const { status, message } = await explainProofFailure(mfa, pending.userId, result, proofKind(proof));
        return render(status, message);
      }
    }
  }

  /** GET of a second-factor page: only with a live pending marker. */
  function secondFactorPage(form: 'code' | 'recovery') {
    return async (req: Request, res: Response) => {
      const pending = req.session.pendingMfa;
      if (pending === undefined) return backToLogin(req, res, SIGN_IN_FIRST);
      if (pending.expiresAt <= ctx.now()) return backToLogin(req, res, SIGN_IN_EXPIRED);
      // Locked meanwhile (another tab, or the page opened again): the lock screen, not a code field.
      const status = await mfa.status(pending.userId);
      if (status.state === 'locked') return lockScreen(req, res, { retryAt: status.lockedUntil ?? null, cause: status.lockCause }, 200);
      sendPage(ctx, req, res, {
        title: form === 'code' ? 'Two-factor authentication' : 'Use a recovery code',
        scripts: form === 'code' && pending.webauthn !== undefined,
        body: (page) =>
          form === 'code'
            ? loginCodePage(page, { methods: methodsOf(pending), webauthn: pending.webauthn, remember: { days: REMEMBER_DEVICE_DAYS, checked: false } })
            : loginRecoveryCodePage(page),
      });
    };
  }

  router.get('/login/mfa', secondFactorPage('code'));
  router.get('/login/recovery', secondFactorPage('recovery'));

  router.post('/login/mfa', async (req, res) => {
    await verify(req, res, proofFromCode(field(req, 'code')), 'code', false, rememberTicked(req));
  });

  /** A security key's answer (AuthenticationResponseJSON, as JSON in `response`): verifyLogin(challenge, { webauthn }). */
  router.post('/login/webauthn', async (req, res) => {
    const response = keyResponseFrom(field(req, 'response'));
    await verify(req, res, response === null ? null : { webauthn: response }, 'code', true, rememberTicked(req));
  });

  router.post('/login/recovery', async (req, res) => {
    const code = field(req, 'recoveryCode').trim();
    await verify(req, res, code === '' ? null : { recoveryCode: code }, 'recovery');
  });

  // The device cookie stays: a remembered browser is remembered across logouts (forget it on the account page).
  router.post('/logout', async (req, res) => {
    await destroySession(req);
    res.clearCookie(sessionCookieName(ctx.production), { path: '/', httpOnly: true, sameSite: 'lax', secure: ctx.production });
    // No session is left to carry a message: the home page says it when reached from here (and only says it).
    res.redirect(303, '/?logged-out=1');
  });

  return router;
}
