/** Pages about the password: confirming it again, changing it, asking for a reset link, setting a new one. */
import { PASSWORD_MAX, PASSWORD_MIN } from '../accounts.ts';
import { html, type SafeHtml } from '../html.ts';
import { formatDuration } from '../time.ts';
import { csrfField, fieldAttrs, fieldError, type PageContext } from './layout.ts';

/** "Enter your password to <purpose>": the re-check before a sensitive action (reauth.ts). */
export function confirmPasswordPage(
  ctx: PageContext,
  view: { action: string; purpose: string; hidden?: Record<string, string> },
): SafeHtml {
  return html`
<p>To ${view.purpose}, enter your password again. This keeps someone who got hold of your signed-in browser
(but not your password) from changing how you sign in.</p>
<form method="post" action="${view.action}" class="card">
  ${csrfField(ctx)}
  ${Object.entries(view.hidden ?? {}).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
  <label for="password">Password</label>
  ${fieldError(ctx, 'password')}
  <input id="password" name="password" type="password" autocomplete="current-password" required${fieldAttrs(ctx, 'password', { focus: true })}>
  <button type="submit">Continue</button>
</form>
<p><a href="/account">Cancel</a> · <a href="/forgot-password">Forgot your password?</a></p>`;
}

export function forgotPasswordPage(ctx: PageContext, form: { login?: string } = {}): SafeHtml {
  return html`
<p>Enter your username or email address. If it belongs to an account, we email a link to set a new password.</p>
<form method="post" action="/forgot-password" class="card">
  ${csrfField(ctx)}
  <label for="login">Username or email address</label>
  ${fieldError(ctx, 'login')}
  <input id="login" name="login" autocomplete="username" required maxlength="254" value="${form.login ?? ''}" autocapitalize="none" spellcheck="false"${fieldAttrs(ctx, 'login')}>
  <button type="submit">Email me a link</button>
</form>
<p><a href="/login">Back to log in</a></p>`;
}

/** The same page whether or not an account matched: the form does not tell who has an account. */
export function forgotPasswordSentPage(_ctx: PageContext, ttlMs: number): SafeHtml {
  return html`
<p>If that is the username or email address of an account, we sent an email with a link to set a new password.
The link works once, for ${formatDuration(ttlMs)}; asking again replaces it.</p>
<p>Setting a new password signs out every session of the account. It also ends a lock that too many wrong codes
caused, but not a lock by support.</p>
<p><a href="/login">Back to log in</a></p>`;
}

/** The form behind the emailed link. The token rides along in a hidden field and is used up only when the form is sent. */
export function resetPasswordPage(ctx: PageContext, view: { username: string; token: string }): SafeHtml {
  return html`
<p>Choose a new password for <strong>${view.username}</strong>.</p>
<form method="post" action="/reset-password" class="card">
  ${csrfField(ctx)}
  <input type="hidden" name="token" value="${view.token}">
  <!-- Hidden but a text field, so password managers file the new password under this username. -->
  <input type="text" name="user" autocomplete="username" value="${view.username}" hidden readonly>
  <label for="password">New password</label>
  ${fieldError(ctx, 'password')}
  <input id="password" name="password" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}"${fieldAttrs(ctx, 'password', { hint: 'password-hint', focus: true })}>
  <small id="password-hint">${PASSWORD_MIN}–${PASSWORD_MAX} characters. Every session of your account will be signed out.</small>
  <button type="submit">Set the new password</button>
</form>`;
}

/** The page's error (the route passes it): this sentence. */
export function resetRefusedMessage(reason: 'invalid' | 'expired'): string {
  return reason === 'expired' ? 'This password reset link has expired.' : 'This password reset link is not valid.';
}

export function resetPasswordRefusedPage(_ctx: PageContext, reason: 'invalid' | 'expired'): SafeHtml {
  return html`
<p>${reason === 'expired' ? 'Links work for a limited time.' : 'A link works once, and only the newest one we emailed works.'}
<a href="/forgot-password">Ask for a new link</a>.</p>`;
}

/** Changing the password of the signed-in user: the current one, and the new one twice. */
export function changePasswordPage(ctx: PageContext): SafeHtml {
  return html`
<p>Enter your current password, then the new one twice. Your other sessions are signed out, and every remembered
browser will ask for your second factor again.</p>
<form method="post" action="/account/password" class="card">
  ${csrfField(ctx)}
  <!-- Hidden but a text field, so password managers file the new password under this username. -->
  <input type="text" name="username" autocomplete="username" value="${ctx.username ?? ''}" hidden readonly>
  <label for="current-password">Current password</label>
  ${fieldError(ctx, 'current-password')}
  <input id="current-password" name="currentPassword" type="password" autocomplete="current-password" required${fieldAttrs(ctx, 'current-password', { focus: true })}>
  <label for="new-password">New password</label>
  ${fieldError(ctx, 'new-password')}
  <input id="new-password" name="newPassword" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}"${fieldAttrs(ctx, 'new-password', { hint: 'new-password-hint' })}>
  <small id="new-password-hint">${PASSWORD_MIN}–${PASSWORD_MAX} characters.</small>
  <label for="new-password-again">New password again</label>
  ${fieldError(ctx, 'new-password-again')}
  <input id="new-password-again" name="newPasswordAgain" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}"${fieldAttrs(ctx, 'new-password-again')}>
  <button type="submit">Change password</button>
</form>
<p><a href="/account">Cancel</a> · <a href="/forgot-password">Forgot your password?</a></p>`;
}
