/** Pages of a signed-in user: the account overview, MFA setup and the recovery codes. */
import type { StatusResult } from 'twofold';
import { html, type SafeHtml } from '../html.ts';
import { formatTime } from '../time.ts';
import { csrfField, notice, type PageContext } from './layout.ts';

/** At or below this many unused recovery codes, the user is prompted to make new ones. */
export const FEW_CODES = 3;

function regenerateForm(ctx: PageContext): SafeHtml {
  return html`
<form method="post" action="/mfa/recovery-codes/regenerate" class="card">
  ${csrfField(ctx)}
  <label for="regenerate-code">Authenticator code or a recovery code</label>
  <input id="regenerate-code" name="code" autocomplete="one-time-code" required maxlength="100" spellcheck="false">
  <button type="submit">Generate new recovery codes</button>
  <small>Your current codes stop working at once.</small>
</form>`;
}

function stateLabel(status: StatusResult): string {
  switch (status.state) {
    case 'enabled':
      return 'On';
    case 'locked':
      return 'On (locked)';
    case 'enrolling':
      return 'Off (setup started, not finished)';
    case 'registered':
      return 'Off';
  }
}

/** What ends the lock: by itself at a time (failures), a password reset (failure limit), or support (manual). */
function lockLabel(status: StatusResult): string {
  switch (status.lockCause) {
    case 'failures':
      return `until ${formatTime(status.lockedUntil ?? 0)}, after too many wrong codes (ends by itself)`;
    case 'failure_limit':
      return 'after 100 wrong codes: until you reset your password, or support unlocks it';
    case 'manual':
      return 'by support: until support unlocks it';
    default:
      return status.lockedUntil ? `until ${formatTime(status.lockedUntil)}` : 'until support unlocks it';
  }
}

export function accountPage(ctx: PageContext, view: { status: StatusResult; error?: string }): SafeHtml {
  const { status } = view;
  const enabled = status.state === 'enabled' || status.state === 'locked';
  const pending = status.pendingEmailRecovery;
  return html`
${notice('error', view.error)}
<dl class="facts">
  <dt>Signed in as</dt><dd>${ctx.username}</dd>
  <dt>Two-factor authentication</dt><dd id="mfa-state" data-state="${status.state}">${stateLabel(status)}</dd>
  ${enabled && html`<dt>Recovery codes left</dt><dd id="codes-remaining">${status.recoveryCodesRemaining}</dd>`}
  ${status.state === 'locked' && html`<dt>Locked</dt><dd id="lock" data-cause="${status.lockCause ?? ''}">${lockLabel(status)}</dd>`}
</dl>
${status.lockCause === 'failure_limit' && html`
<section class="warning" id="password-known">
  <h2>Your password is known to someone</h2>
  <p>Your account was locked after 100 wrong codes without a right one, and codes are asked for only after the
  right password. Reset your password by email: the new password ends this lock and signs out every session.</p>
  <p><a class="button" href="/forgot-password">Reset your password</a></p>
</section>`}
${pending && html`
<section class="warning" id="pending-recovery">
  <h2>Email recovery pending</h2>
  <p>Someone who knows your password asked, at ${formatTime(pending.requestedAt)}, to remove two-factor authentication by email.
  It can be completed from ${formatTime(pending.notBefore)}. If this was not you, cancel it and reset your password.</p>
  <form method="post" action="/mfa/email-recovery/cancel" class="card">
    ${csrfField(ctx)}
    <label for="cancel-password">Your password</label>
    <input id="cancel-password" name="password" type="password" autocomplete="current-password">
    <button type="submit">Cancel the email recovery</button>
    <small>Your password is asked for so that a stolen browser session cannot stop your recovery.</small>
  </form>
</section>`}
${!enabled && html`
<section>
  <h2>Protect your account</h2>
  <p>Add a second step to signing in: a 6-digit code from an authenticator app on your phone.</p>
  <p><a class="button" href="/mfa/setup" id="setup-mfa">Set up two-factor authentication</a></p>
</section>`}
${enabled && status.recoveryCodesUnrevealed && html`
<section class="warning">
  <p>You have new recovery codes you have not seen yet. <a href="/mfa/recovery-codes">Show them now</a> (once).</p>
</section>`}
${enabled && !status.recoveryCodesUnrevealed && status.recoveryCodesRemaining <= FEW_CODES && html`
<section class="warning" id="few-codes">
  <p>Only ${status.recoveryCodesRemaining} recovery code${status.recoveryCodesRemaining === 1 ? '' : 's'} left. Generate new ones below.</p>
</section>`}
${enabled && html`
<section>
  <h2>Recovery codes</h2>
  <p>Each code lets you sign in once without your phone. Lost them, or used most of them? Make a new set.</p>
  ${regenerateForm(ctx)}
</section>
<section>
  <h2>Turn off two-factor authentication</h2>
  <form method="post" action="/mfa/disable" class="card">
    ${csrfField(ctx)}
    <label for="disable-code">Authenticator code</label>
    <input id="disable-code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="40" spellcheck="false">
    <label for="disable-recovery">or a recovery code</label>
    <input id="disable-recovery" name="recoveryCode" autocomplete="off" autocapitalize="characters" maxlength="100" spellcheck="false">
    <button type="submit" class="danger">Turn off</button>
  </form>
</section>`}`;
}

/** The otpauth secret in blocks of four (`ABCD EFGH …`), easier to read and type; apps ignore the spaces. */
export function groupSecret(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(' ') ?? secret;
}

export function setupPage(ctx: PageContext, view: { qrDataUrl: string; secret: string; expiresAt: number; error?: string }): SafeHtml {
  return html`
${notice('error', view.error)}
<ol class="steps">
  <li>
    <p>Scan this QR code with an authenticator app (Google Authenticator, 1Password, Authy, FreeOTP, …).</p>
    <img id="qr" src="${view.qrDataUrl}" alt="QR code to add this account to your authenticator app">
    <details>
      <summary>Can't scan it? Enter the key by hand</summary>
      <p>Account: <strong>${ctx.username}</strong>, time-based, 6 digits, key:</p>
      <p><code id="secret">${groupSecret(view.secret)}</code></p>
    </details>
  </li>
  <li>
    <form method="post" action="/mfa/setup" class="card">
      ${csrfField(ctx)}
      <label for="code">Enter the 6-digit code the app shows</label>
      <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required maxlength="40" spellcheck="false">
      <button type="submit">Turn on two-factor authentication</button>
      <small>This setup expires at ${formatTime(view.expiresAt)}.</small>
    </form>
  </li>
</ol>
<p><a href="/account">Cancel</a></p>`;
}

export function recoveryCodesPage(_ctx: PageContext, view: { codes: string[]; text: string; filename: string }): SafeHtml {
  const href = `data:text/plain;charset=utf-8,${encodeURIComponent(view.text)}`;
  return html`
<p><strong>Save these codes now: this is the only time they are shown.</strong> Each one signs you in once
if you lose your phone. Keep them in a password manager or print them.</p>
<ol id="recovery-codes" class="codes">
${view.codes.map((code) => html`<li><code>${code}</code></li>`)}
</ol>
<p><a id="download-codes" class="button" download="${view.filename}" href="${href}">Download .txt</a></p>
<p><a href="/account">I have saved them, continue</a></p>`;
}

export function recoveryCodesShownPage(ctx: PageContext): SafeHtml {
  return html`
<p>Your recovery codes were already shown once; for your safety they cannot be shown again.</p>
<p>If you did not save them, generate a new set (the old codes stop working):</p>
${regenerateForm(ctx)}
<p><a href="/account">Back to your account</a></p>`;
}
