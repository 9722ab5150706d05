/**
 * The signed-in user's account page and its MFA actions: new recovery codes,
 * turning MFA off, cancelling a pending email recovery. Each action that
 * needs a code is one twofold call; failures count towards the lockout.
 * Cancelling a recovery needs no code (the owner who asked for it has none)
 * but the password again (reauth.ts): a stolen cookie alone must not stop
 * the owner's way back in.
 */
import { Router, type Request, type Response } from 'express';
import type { Proof } from 'twofold';
import type { Account } from '../accounts.ts';
import type { AppContext } from '../context.ts';
import { field, requireAccount, sendPage, setFlash } from '../page.ts';
import { explainProofFailure, proofFromCode } from '../proof.ts';
import { confirmPassword, passwordCheckMessage } from '../reauth.ts';
import { restampSession } from '../sessions.ts';
import { accountPage } from '../views/mfa.ts';

export function accountRoutes(ctx: AppContext): Router {
  const router = Router();
  const { mfa } = ctx;

  async function renderAccount(req: Request, res: Response, account: Account, status = 200, error?: string): Promise<void> {
    const mfaStatus = await mfa.status(account.id);
    sendPage(ctx, req, res, { title: 'Your account', status, body: (page) => accountPage(page, { status: mfaStatus, error }) });
  }

  router.get('/account', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (account) await renderAccount(req, res, account);
  });

  router.post('/mfa/recovery-codes/regenerate', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const proof = proofFromCode(field(req, 'code'));
    if (proof === null) return renderAccount(req, res, account, 400, 'Enter a code from your authenticator app or a recovery code.');
    const result = await mfa.regenerateRecoveryCodes(account.id, proof);
    if (!result.ok) {
      const { status, message } = await explainProofFailure(mfa, account.id, result);
      return renderAccount(req, res, account, status, message);
    }
    res.redirect(303, '/mfa/recovery-codes');
  });

  router.post('/mfa/disable', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const recoveryCode = field(req, 'recoveryCode').trim();
    const proof: Proof | null = recoveryCode !== '' ? { recoveryCode } : proofFromCode(field(req, 'code'));
    if (proof === null) return renderAccount(req, res, account, 400, 'Enter a code from your authenticator app or a recovery code.');
    const result = await mfa.disable(account.id, proof);
    if (!result.ok) {
      const { status, message } = await explainProofFailure(mfa, account.id, result);
      return renderAccount(req, res, account, status, message);
    }
    // The mfa.disabled event ended every session of this user (app.ts); this one stays.
    restampSession(req, account);
    setFlash(req, 'info', 'Two-factor authentication is off. Your other sessions were signed out.');
    res.redirect(303, '/account');
  });

  router.post('/mfa/email-recovery/cancel', async (req, res) => {
    const account = requireAccount(ctx, req, res);
    if (!account) return;
    const check = await confirmPassword(ctx, req, account, field(req, 'password'));
    if (!check.ok) {
      if (check.reason === 'signed_out') return res.redirect(303, '/login');
      return renderAccount(req, res, account, check.reason === 'missing' ? 400 : 401, passwordCheckMessage(check, 'cancel the email recovery'));
    }
    const result = await mfa.cancelEmailRecovery(account.id);
    setFlash(req, 'info', result.ok ? 'The email recovery was cancelled. If you did not ask for it, someone knows your password: reset it.' : 'No email recovery was pending.');
    res.redirect(303, '/account');
  });

  return router;
}
