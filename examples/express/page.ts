/** Sending a page, carrying a one-time message to the next page, and guarding signed-in routes. */
import type { Request, Response } from 'express';
import type { Account } from './accounts.ts';
import type { AppContext } from './context.ts';
import { csrfToken } from './csrf.ts';
import type { SafeHtml } from './html.ts';
import { signedInAccount } from './sessions.ts';
import { layout, type Flash, type PageContext } from './views/layout.ts';

export interface Page {
  title: string;
  status?: number;
  body: (page: PageContext) => SafeHtml;
}

export function sendPage(ctx: AppContext, req: Request, res: Response, page: Page): void {
  const flash = req.session.flash;
  delete req.session.flash;
  const pageContext: PageContext = {
    // Read only by pages with a form, so a visitor who sees no form gets no session (and no cookie).
    get csrfToken() {
      return csrfToken(req);
    },
    username: signedInAccount(req, ctx.accounts)?.username,
    dev: !ctx.production,
  };
  res.status(page.status ?? 200).type('html').send(layout(pageContext, page.title, page.body(pageContext), flash));
}

/** A message for the next page this session sees (kept in the session, so nothing goes into the URL). */
export function setFlash(req: Request, kind: Flash['kind'], text: string): void {
  req.session.flash = { kind, text };
}

/** The signed-in account, or undefined after redirecting to /login. */
export function requireAccount(ctx: AppContext, req: Request, res: Response): Account | undefined {
  const account = signedInAccount(req, ctx.accounts);
  if (account === undefined) res.redirect(303, '/login');
  return account;
}

/** A string form field, or '' (a missing field, or a repeated one that parsed into an array). */
export function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** One query parameter as a string, or '' (missing, or repeated into an array). */
export function queryParam(req: Request, name: string): string {
  const value = req.query[name];
  return typeof value === 'string' ? value : '';
}
