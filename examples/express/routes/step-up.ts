/**
 * The step-up page ("sudo mode", step-up.ts): a signed-in user confirms a
 * fresh second factor (a code, a recovery code or a security key, exactly
 * as at the login) before a sensitive change, then returns to the page that
 * asked for it.
 *
 * GET /mfa/step-up?return=<path> starts a twofold step-up challenge and
 * keeps it in the session with the (allow-listed) return path; the code
 * form posts to POST /mfa/step-up, the key button to POST
 * /mfa/step-up/webauthn. On success the grant and its expiry go into the
 * session, which gets a new id, and the user is sent back. Wrong answers
 * count towards twofold's lockout like wrong login codes, and go through
 * the same per-IP rate limit as the login (app.ts).
 */
import { Router, type Request, type Response } from 'express';
import type { Proof } from 'twofold';
import type { Account } from '../accounts.ts';
import type { AppContext } from '../context.ts';
import { field, queryParam, requireAccount, sendPage, setFlash } from '../page.ts';
import { explainProofFailure, keyResponseFrom, lockOf, NO_KEY_ANSWER, proofFromCode, proofKind, type Lock } from '../proof.ts';
import { rotateSession, type PendingStepUp } from '../sessions.ts';
import { liveGrant, safeReturnPath, stepUpPurpose, stepUpWarning } from '../step-up.ts';
import { lockedPage } from '../views/auth.ts';
import type { Message } from '../views/layout.ts';
import { stepUpPage } from '../views/mfa.ts';

const TITLE = 'Confirm it is you';

export function stepUpRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa } = ctx;

  /** The step-up page; an error sits at the key button (`key`) or the code field. */
  function render(req: Request, res: Response, pending: PendingStepUp, status = 200, error?: Message, key = false): void {
    sendPage(ctx, req, res, {
      title: TITLE,
      status,
      scripts: pending.webauthn !== undefined,
      ...(error !== undefined ? { error: { ...error, field: key ? 'use-key' : 'code' } } : {}),
      body: (page) =>
        stepUpPage(page, { purpose: stepUpPurpose(pending.returnTo), warning: stepUpWarning(pending.returnTo), methods: pending.methods, webauthn: pending.webauthn }),
    });
  }

  /** A locked account's own screen: no code field, how long, what waits too. */
  function lockScreen(req: Request, res: Response, lock: Lock, status = 429): void {
    delete req.session.pendingStepUp;
    sendPage(ctx, req, res, {
      title: 'Your account is locked',
      status,
      body: (page) => lockedPage(page, { retryAt: lock.retryAt, cause: lock.cause, signedIn: true }),
    });
  }

  /** A new step-up challenge for `account`, kept in the session, and its page; or back to the account page saying why not. */
  async function begin(req: Request, res: Response, account: Account, returnTo: string, status = 200, error?: Message): Promise<void> {
    delete req.session.pendingStepUp;
    const start = await mfa.startStepUp(account.id);
    if (!start.ok) {
      if (start.reason === 'locked') return lockScreen(req, res, await lockOf(mfa, account.id, start.retryAt), 200);
      setFlash(req, 'error', 'Two-factor authentication is off: there is nothing to confirm.');
      return res.redirect(303, '/account');
    }
    const pending: PendingStepUp = { challenge: start.challenge, expiresAt: start.expiresAt, methods: start.methods, returnTo };
    if (start.webauthn !== undefined) pending.webauthn = start.webauthn;
    req.session.pendingStepUp = pending;
    render(req, res, pending, status, error);
  }

  router.get('/mfa/step-up', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const returnTo = safeReturnPath(queryParam(req, 'return'));
    // Already confirmed (another tab, a double click): straight on.
    if (liveGrant(ctx, req) !== undefined) return res.redirect(303, returnTo);
    await begin(req, res, account, returnTo);
  });

  async function verify(req: Request, res: Response, proof: Proof | null, key: boolean): Promise<void> {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const pending = req.session.pendingStepUp;
    if (pending === undefined) return begin(req, res, account, '/account', 400, { text: 'Confirm your second factor on this page.' });
    if (proof === null) return render(req, res, pending, 400, { text: key ? NO_KEY_ANSWER : 'Enter a code from your authenticator app or a recovery code.' }, key);

    const result = await mfa.verifyStepUp(pending.challenge, proof);
    if (result.ok && result.userId === account.id) {
      // The grant is worth more than the session it lands in: a new session
      // id, so a copy of the cookie taken before cannot use it.
      await rotateSession(req);
      req.session.stepUp = { grant: result.grant, expiresAt: result.expiresAt };
      return res.redirect(303, pending.returnTo);
    }
    if (result.ok) return begin(req, res, account, pending.returnTo, 400, { text: 'That confirmation was not for your account. Confirm again.' });
    switch (result.reason) {
      case 'challenge_expired':
        return begin(req, res, account, pending.returnTo, 400, { text: 'That took too long. Confirm again.' });
      case 'challenge_invalid': // spent, or the settings changed meanwhile (a lock, MFA turned off)
        return begin(req, res, account, pending.returnTo, 400, { text: 'That confirmation is no longer valid. Confirm again.' });
      case 'not_enrolled':
        delete req.session.pendingStepUp;
        setFlash(req, 'error', 'Two-factor authentication is off: there is nothing to confirm.');
        return res.redirect(303, '/account');
      case 'locked':
        return lockScreen(req, res, await lockOf(mfa, account.id, result.retryAt));
      default: {
        const kind = proofKind(proof);
        const { status, message } = await explainProofFailure(mfa, account.id, result, kind);
        return render(req, res, pending, status, message, kind === 'key');
      }
    }
  }

  router.post('/mfa/step-up', async (req, res) => {
    await verify(req, res, proofFromCode(field(req, 'code')), false);
  });

  /** A security key's answer (AuthenticationResponseJSON, as JSON in `response`): verifyStepUp(challenge, { webauthn }). */
  router.post('/mfa/step-up/webauthn', async (req, res) => {
    const response = keyResponseFrom(field(req, 'response'));
    await verify(req, res, response === null ? null : { webauthn: response }, true);
  });

  return router;
}
