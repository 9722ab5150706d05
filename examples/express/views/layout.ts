/** The frame every page shares: head, skip link, navigation, the one-time message, errors tied to their fields, and form helpers. */
import { html, type SafeHtml } from '../html.ts';
import { when, type Rounding } from '../time.ts';

/** Where app.ts serves @simplewebauthn/browser's UMD bundle (global `SimpleWebAuthnBrowser`). */
export const SIMPLEWEBAUTHN_BROWSER_PATH = '/assets/simplewebauthn-browser.js';

/**
 * A sentence for the user. `{when}` in `text` stands for an instant, written
 * on the page as relative words and a `<time>` element (time.ts `when`):
 * `{ text: 'Try again {when}.', when: { at, rounding: 'up' } }`.
 */
export interface Message {
  text: string;
  when?: { at: number; rounding: Rounding } | undefined;
}

/** An error of a page, tied to the form field (the `id` of an input or button) it is about, or to none (page-level). */
export interface PageError extends Message {
  field?: string | undefined;
}

/** A one-time message carried to the next page (stored in the session, never in the URL); an error may name its field there. */
export interface Flash extends PageError {
  kind: 'info' | 'error';
}

/** What every page may show: who is signed in, the form token, dev links, the clock, and its error. */
export interface PageContext {
  /** The session's CSRF token, for the hidden `_csrf` field of every POST form. */
  csrfToken: string;
  /** Username of the signed-in user, if any. */
  username: string | undefined;
  /** Development mode: link the dev outbox. */
  dev: boolean;
  /** Now, by the app clock: times on the page are written relative to it. */
  now: number;
  /** The error of this page, if any: shown at its field ({@link fieldError}), else at the top. */
  error?: PageError | undefined;
  /** Set when a view showed the error at its field (so the frame does not repeat it at the top). */
  errorShown?: boolean;
}

/** A message as page markup: its text, with `{when}` written as relative words and a `<time>` element. */
export function messageHtml(message: Message, now: number): SafeHtml {
  const parts = message.text.split('{when}');
  if (message.when === undefined || parts.length === 1) return html`${message.text}`;
  const at = when(message.when.at, now, message.when.rounding);
  return html`${parts.map((part, i) => (i === 0 ? html`${part}` : html`${at}${part}`))}`;
}

/** The hidden field that carries the CSRF token in every POST form. */
export function csrfField(ctx: PageContext): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${ctx.csrfToken}">`;
}

/** An error or notice box; nothing when `message` is empty. */
export function notice(kind: 'info' | 'error', message: string | Message | undefined | null, now = 0, id?: string): SafeHtml {
  if (!message) return html``;
  const body = typeof message === 'string' ? html`${message}` : messageHtml(message, now);
  return kind === 'error'
    ? html`<p class="notice error" role="alert"${id ? html` id="${id}"` : ''}><strong>Error:</strong> ${body}</p>`
    : html`<p class="notice info" role="status"${id ? html` id="${id}"` : ''}>${body}</p>`;
}

/** Whether the page's error is about the field `id`. */
export function hasError(ctx: PageContext, id: string): boolean {
  return ctx.error?.field === id;
}

/**
 * The error message of the field `id` (GOV.UK's pattern): placed between its
 * label and the field, `id="<id>-error"` for the field's aria-describedby.
 * Nothing when the page's error is about another field.
 */
export function fieldError(ctx: PageContext, id: string): SafeHtml {
  if (!hasError(ctx, id)) return html``;
  ctx.errorShown = true;
  return html`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>${messageHtml(ctx.error!, ctx.now)}</p>`;
}

/**
 * The attributes that tie the field `id` to its hint (`hint`: the hint's id)
 * and, when the page's error is about it, to the error: `aria-invalid`,
 * `aria-describedby` (error first) and `autofocus` (focus goes back to the
 * field after an error, no script needed). `focus`: autofocus this field
 * when the page has no field error.
 */
export function fieldAttrs(ctx: PageContext, id: string, options: { hint?: string | undefined; focus?: boolean } = {}): SafeHtml {
  const describedBy = [hasError(ctx, id) ? `${id}-error` : '', options.hint ?? ''].filter(Boolean).join(' ');
  const invalid = hasError(ctx, id);
  const focus = invalid || (options.focus === true && ctx.error?.field === undefined);
  return html`${invalid ? html` aria-invalid="true"` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${focus ? html` autofocus` : ''}`;
}

/**
 * The page frame. `scripts`: same-origin script files to load (the CSP
 * allows script-src 'self' only, no inline script or handler); `defer` runs
 * them in this order once the page is parsed. The title starts with
 * "Error:" when the page shows an error, so it is heard first.
 */
export function layout(ctx: PageContext, title: string, body: SafeHtml, flash?: Flash, scripts: readonly string[] = []): string {
  const nav = ctx.username
    ? html`<a href="/account">Account (${ctx.username})</a>
        <form method="post" action="/logout" class="inline">${csrfField(ctx)}<button type="submit" class="link">Log out</button></form>`
    : html`<a href="/signup">Sign up</a> <a href="/login">Log in</a>`;
  // The page's error at the top, unless a view showed it at its field.
  const topError = ctx.error !== undefined && ctx.errorShown !== true ? notice('error', ctx.error, ctx.now, 'page-error') : html``;
  // A flash error that is not the page's error (a page with an error of its own was given one too).
  const flashError = flash?.kind === 'error' && flash !== ctx.error ? notice('error', flash, ctx.now) : html``;
  const flashInfo = flash?.kind === 'info' ? notice('info', flash, ctx.now, 'flash') : html``;
  const failed = ctx.error !== undefined || flash?.kind === 'error';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${failed ? 'Error: ' : ''}${title} · twofold example</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/style.css">
${scripts.map((src) => html`<script src="${src}" defer></script>
`)}</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header>
  <a href="/" class="brand">twofold <span>example</span></a>
  <nav aria-label="Main">${nav}${ctx.dev && html` <a href="/dev/outbox" class="dev">Dev outbox</a>`}</nav>
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${topError}${flashError}${flashInfo}
${body}
</main>
<footer>The twofold example host. Times are in UTC.</footer>
</body>
</html>
`.toString();
}
