/** The frame every page shares: head, navigation, the one-time message, and form helpers. */
import { html, type SafeHtml } from '../html.ts';

/** Where app.ts serves @simplewebauthn/browser's UMD bundle (global `SimpleWebAuthnBrowser`). */
export const SIMPLEWEBAUTHN_BROWSER_PATH = '/assets/simplewebauthn-browser.js';

/** A one-time message carried to the next page (stored in the session, never in the URL). */
export interface Flash {
  kind: 'info' | 'error';
  text: string;
}

/** What every page may show: who is signed in, the form token, dev links. */
export interface PageContext {
  /** The session's CSRF token, for the hidden `_csrf` field of every POST form. */
  csrfToken: string;
  /** Username of the signed-in user, if any. */
  username: string | undefined;
  /** Development mode: link the dev outbox. */
  dev: boolean;
}

/** The hidden field that carries the CSRF token in every POST form. */
export function csrfField(ctx: PageContext): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${ctx.csrfToken}">`;
}

/** An error or notice box; nothing when `text` is empty. */
export function notice(kind: 'info' | 'error', text: string | undefined | null): SafeHtml {
  if (!text) return html``;
  return kind === 'error'
    ? html`<p class="notice error" role="alert">${text}</p>`
    : html`<p class="notice info" role="status">${text}</p>`;
}

/**
 * The page frame. `scripts`: load @simplewebauthn/browser (served from
 * node_modules) and public/webauthn.js, which wires the security-key forms.
 * Both are same-origin files (the CSP allows script-src 'self' only, no
 * inline script or handler); `defer` runs them in this order once the page
 * is parsed.
 */
export function layout(ctx: PageContext, title: string, body: SafeHtml, flash?: Flash, scripts = false): string {
  const nav = ctx.username
    ? html`<a href="/account">Account (${ctx.username})</a>
        <form method="post" action="/logout" class="inline">${csrfField(ctx)}<button type="submit" class="link">Log out</button></form>`
    : html`<a href="/signup">Sign up</a> <a href="/login">Log in</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · twofold example</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/style.css">
${scripts && html`<script src="${SIMPLEWEBAUTHN_BROWSER_PATH}" defer></script>
<script src="/webauthn.js" defer></script>`}
</head>
<body>
<header>
  <a href="/" class="brand">twofold <span>example</span></a>
  <nav>${nav}${ctx.dev && html` <a href="/dev/outbox" class="dev">Dev outbox</a>`}</nav>
</header>
<main>
<h1>${title}</h1>
${flash && notice(flash.kind, flash.text)}
${body}
</main>
<footer>The twofold example host. Users, sessions, MFA records and email live in memory and vanish on restart.</footer>
</body>
</html>
`.toString();
}
