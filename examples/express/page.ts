/** Sending a page, carrying a one-time message to the next page, and guarding signed-in routes. */
import type { Request, Response } from 'express';
import type { Account } from './accounts.ts';
import type { AppContext } from './context.ts';
import { csrfToken } from './csrf.ts';
import type { SafeHtml } from './html.ts';
import { signedInAccount } from './sessions.ts';
import { layout, SIMPLEWEBAUTHN_BROWSER_PATH, type Flash, type Message, type PageContext, type PageError } from './views/layout.ts';
import { messagePage } from './views/pages.ts';

export interface Page {
  title: string;
  status?: number;
  body: (page: PageContext) => SafeHtml;
  /** Load the security-key script (public/webauthn.js and @simplewebauthn/browser): pages with a key button. */
  scripts?: boolean;
  /** Other same-origin scripts of public/ (e.g. `/codes.js`), after the key scripts. */
  extraScripts?: readonly string[];
  /** The page's error, tied to the field it is about (views show it there: layout.ts fieldError). */
  error?: PageError | undefined;
}

/** The script files of a page with security-key buttons. */
export const KEY_SCRIPTS = [SIMPLEWEBAUTHN_BROWSER_PATH, '/webauthn.js'] as const;

export function sendPage(ctx: AppContext, req: Request, res: Response, page: Page): void {
  const flash = req.session.flash;
  delete req.session.flash;
  const error = page.error ?? (flash?.kind === 'error' ? flash : undefined);
  const pageContext: PageContext = {
    // Read only by pages with a form, so a visitor who sees no form gets no session (and no cookie).
    get csrfToken() {
      return csrfToken(req);
    },
    username: signedInAccount(req)?.username,
    dev: !ctx.production,
    now: ctx.now(),
    error,
  };
  const scripts = [...(page.scripts ? KEY_SCRIPTS : []), ...(page.extraScripts ?? [])];
  const body = page.body(pageContext);
  res.status(page.status ?? 200).type('html').send(layout(pageContext, page.title, body, flash, scripts));
}

/**
 * A message for the next page this session sees (kept in the session, so
 * nothing goes into the URL). `field`: the id of the form field an error is
 * about on that page (shown there, with focus on it).
 */
export function setFlash(req: Request, kind: Flash['kind'], message: string | Message, field?: string): void {
  const text = typeof message === 'string' ? { text: message } : message;
  req.session.flash = { kind, ...text, ...(field !== undefined ? { field } : {}) };
}

/** The signed-in account, or undefined after redirecting to /login. */
export function requireAccount(_ctx: AppContext, req: Request, res: Response): Account | undefined {
  const account = signedInAccount(req);
  if (account === undefined) res.redirect(303, '/login');
  return account;
}

/**
 * Pages that change state on GET (they begin an enrollment or a key
 * registration, use up the one-time reveal of the codes) must not be driven
 * by another site: SameSite=Lax sends the session cookie on a top-level
 * navigation from anywhere. A navigation the browser marks as cross-site
 * (`Sec-Fetch-Site`) only gets a page with a link to continue; typed URLs,
 * bookmarks and our own links are `none` / `same-origin` and go straight
 * through. True when that page was sent.
 */
export function crossSite(ctx: AppContext, req: Request, res: Response, path: string, what: string): boolean {
  if (req.get('sec-fetch-site') !== 'cross-site' && req.get('sec-fetch-site') !== 'same-site') return false;
  sendPage(ctx, req, res, {
    title: 'Continue?',
    body: (page) => messagePage(page, `You followed a link from another site to ${what}.`, { href: path, label: 'Continue' }),
  });
  return true;
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
