/** Development-only pages. Mounted only when not in production, so there they are a plain 404. */
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { sendPage } from '../page.ts';
import { outboxPage } from '../views/pages.ts';

export function devRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/dev/outbox', (req, res) => {
    sendPage(ctx, req, res, { title: 'Dev outbox', body: (page) => outboxPage(page, ctx.outbox.list()) });
  });
  return router;
}
