/** Sign up: create the account and sign in (no MFA yet, so the password is enough). */
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { field, sendPage } from '../page.ts';
import { signIn } from '../sessions.ts';
import { signupPage } from '../views/auth.ts';

export function signupRoutes(ctx: AppContext): Router {
  const router = Router();

  router.get('/signup', (req, res) => {
    sendPage(ctx, req, res, { title: 'Sign up', body: (page) => signupPage(page) });
  });

  router.post('/signup', async (req, res) => {
    const username = field(req, 'username');
    const created = await ctx.accounts.create(username, field(req, 'password'));
    if (!created.ok) {
      // Saying "taken" reveals that the name exists; a sign-up form cannot avoid it, a login form can and does.
      const status = created.reason === 'taken' ? 409 : 400;
      sendPage(ctx, req, res, { title: 'Sign up', status, error: { field: created.field, text: created.message }, body: (page) => signupPage(page, { username }) });
      return;
    }
    await signIn(req, created.account, ctx.now());
    res.redirect(303, '/account');
  });

  return router;
}
