/** Pages outside the sign-in and MFA flows: welcome, dev outbox, errors. */
import { html, type SafeHtml } from '../html.ts';
import type { Email } from '../outbox.ts';
import { when } from '../time.ts';
import { notice, type PageContext } from './layout.ts';

/** What the home page says after POST /logout. */
export const LOGGED_OUT_TEXT = 'You are logged out.';

export function homePage(ctx: PageContext, view: { loggedOut?: boolean } = {}): SafeHtml {
  return html`
${view.loggedOut === true && ctx.username === undefined && notice('info', LOGGED_OUT_TEXT, ctx.now, 'logged-out')}
<p>This is a small web app that uses <strong>twofold</strong> for two-factor authentication: authenticator apps
(TOTP), security keys and passkeys. Try the whole journey:</p>
<ol>
  <li>sign up with a username and password;</li>
  <li>set up two-factor authentication: scan the QR code with an authenticator app and enter a code, or add a
  security key or passkey; save your recovery codes;</li>
  <li>log out and log in again: password, then the 6-digit code or your key;</li>
  <li>add a second method, rename one, remove one (you confirm your second factor first);</li>
  <li>try a recovery code, a wrong code or two, and the "lost your phone and your codes?" email recovery.</li>
</ol>
${ctx.username
    ? html`<p><a class="button" href="/account">Go to your account</a></p>`
    : html`<p><a class="button" href="/signup">Sign up</a> or <a href="/login">log in</a>.</p>`}
${ctx.dev && html`<p>Emails (security notices, recovery links) are not sent: read them in the <a href="/dev/outbox">dev outbox</a>.</p>`}`;
}

/** Escaped text with http(s) links made clickable (the recovery link in the outbox). */
function linkify(text: string): SafeHtml {
  const parts = text.split(/(https?:\/\/[^\s]+)/g);
  return html`${parts.map((part, i) => (i % 2 === 1 ? html`<a href="${part}">${part}</a>` : part))}`;
}

export function outboxPage(ctx: PageContext, emails: readonly Email[]): SafeHtml {
  return html`
<p>Development only: the emails the app would have sent, newest first. Not available when NODE_ENV=production.</p>
${emails.length === 0 && html`<p>No emails yet.</p>`}
<ul class="outbox" id="outbox">
${[...emails].reverse().map((email) => html`
<li class="email">
  <p class="meta"><strong>${email.subject}</strong><br>to ${email.to} · sent ${when(email.at, ctx.now)}</p>
  <pre>${linkify(email.text)}</pre>
</li>`)}
</ul>`;
}

export function messagePage(_ctx: PageContext, text: string, link: { href: string; label: string } = { href: '/', label: 'Home' }): SafeHtml {
  return html`<p>${text}</p><p><a href="${link.href}">${link.label}</a></p>`;
}
