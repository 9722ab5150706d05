/** Pages of a signed-in user: the account overview and its two-factor methods, step-up, adding an app or a key, the recovery codes. */
import type { DeviceInfo, FactorInfo, LoginMethod, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, StatusResult } from 'twofold';
import { html, type SafeHtml } from '../html.ts';
import { when } from '../time.ts';
import { keyForm, secondFactorForms, totpField } from './auth.ts';
import { csrfField, fieldAttrs, fieldError, type PageContext } from './layout.ts';

/**
 * At or below this many unused recovery codes the user is prompted to make
 * new ones: twofold's `recovery_codes_low` (status().attention) uses the same.
 */
export const FEW_CODES = 2;

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
function lockLabel(ctx: PageContext, status: StatusResult): SafeHtml {
  switch (status.lockCause) {
    case 'failures':
      return html`after too many wrong codes: ends by itself ${when(status.lockedUntil ?? 0, ctx.now, 'up')}`;
    case 'failure_limit':
      return html`after 100 wrong codes: until you reset your password, or support unlocks it`;
    case 'manual':
      return html`by support: until support unlocks it`;
    default:
      return status.lockedUntil ? html`ends ${when(status.lockedUntil, ctx.now, 'up')}` : html`until support unlocks it`;
  }
}

/** What the account page shows. */
export interface AccountView {
  status: StatusResult;
  factors: readonly FactorInfo[];
  /** Security keys can be added here (relying-party.ts). */
  keys: boolean;
  /** A live step-up grant's end, if any. */
  stepUpUntil?: number | undefined;
  /** Remembered browsers (twofold's listDevices). */
  devices: readonly DeviceInfo[];
  /** The remembered device of this browser, if it is one (the session's note: sessions.ts). */
  currentDeviceId?: string | undefined;
  /** When email recovery removed two-factor authentication, while it is not set up again (the banner). */
  removedByRecoveryAt?: number | undefined;
}

/** `Authenticator app`, `Security key`, or `Passkey` for a synced credential (twofold's `backedUp`). */
export function factorKindLabel(factor: FactorInfo): string {
  if (factor.kind === 'totp') return 'Authenticator app';
  return factor.backedUp === true ? 'Passkey' : 'Security key';
}

function factorItem(ctx: PageContext, factor: FactorInfo): SafeHtml {
  return html`
  <li class="factor" id="factor-${factor.id}" data-factor-id="${factor.id}" data-kind="${factor.kind}">
    <p class="factor-head"><strong class="factor-label">${factor.label}</strong>
      ${factor.backedUp === true
        ? html`<span class="badge kind passkey" title="Synced across your devices by your password manager or platform">Passkey</span>`
        : html`<span class="badge kind">${factorKindLabel(factor)}</span>`}</p>
    <p class="factor-dates"><small>Added ${when(factor.createdAt, ctx.now)} · last used ${factor.lastUsedAt === null ? 'never' : when(factor.lastUsedAt, ctx.now)}</small></p>
    <div class="factor-actions">
      <form method="post" action="/mfa/factors/${factor.id}/rename" class="rename">
        ${csrfField(ctx)}
        <label for="rename-${factor.id}" class="visually-hidden">New name for ${factor.label}</label>
        ${fieldError(ctx, `rename-${factor.id}`)}
        <input id="rename-${factor.id}" name="label" value="${factor.label}" required maxlength="64" autocomplete="off"${fieldAttrs(ctx, `rename-${factor.id}`)}>
        <button type="submit" class="secondary">Rename</button>
      </form>
      <a class="button danger" href="/mfa/factors/${factor.id}/remove" id="remove-${factor.id}">Remove</a>
    </div>
  </li>`;
}

function deviceItem(ctx: PageContext, device: DeviceInfo, current: boolean): SafeHtml {
  const label = device.label ?? 'A browser';
  return html`
  <li class="device" id="device-${device.id}" data-device-id="${device.id}"${current ? html` data-current="true"` : ''}>
    <div>
      <p><strong class="device-label">${label}</strong>${current && html` <span class="badge current">This browser</span>`}</p>
      <p class="device-dates"><small>Added ${when(device.createdAt, ctx.now)} · last used ${device.lastUsedAt === null ? 'never' : when(device.lastUsedAt, ctx.now)} · expires ${when(device.expiresAt, ctx.now)}</small></p>
    </div>
    <form method="post" action="/account/devices/${device.id}/forget">
      ${csrfField(ctx)}
      <button type="submit" class="secondary" id="forget-${device.id}">Forget<span class="visually-hidden"> ${label}</span></button>
    </form>
  </li>`;
}

/** "Remembered browsers": where the second factor is not asked until they expire, each with Forget, and Forget all. */
function devicesSection(ctx: PageContext, view: AccountView): SafeHtml {
  const { devices } = view;
  return html`
<section id="devices">
  <h2>Remembered browsers</h2>
  <p>These browsers sign in with your password alone, without a code, until they expire. Forget any you do not recognise
  or no longer use: it will ask for your second factor again.</p>
  ${devices.length === 0
    ? html`<p id="no-devices">None. Tick "Remember this browser" when you enter your code to add this one.</p>`
    : html`<ul class="devices" id="device-list">${devices.map((device) => deviceItem(ctx, device, device.id === view.currentDeviceId))}
  </ul>
  <form method="post" action="/account/devices/forget-all" id="forget-all-form">
    ${csrfField(ctx)}
    <button type="submit" class="danger" id="forget-all">Forget all remembered browsers</button>
  </form>`}
</section>`;
}

/** The banners of status().attention, in plain words (recovery_codes_unrevealed has its own link). */
function attentionBanners(status: StatusResult): SafeHtml {
  const left = status.recoveryCodesRemaining;
  return html`
${status.attention.includes('recovery_codes_unrevealed') && html`
<section class="warning" id="unrevealed-codes">
  <p>You have new recovery codes you have not seen yet. <a href="/mfa/recovery-codes">Show them now</a> (once).</p>
</section>`}
${status.attention.includes('recovery_codes_low') && html`
<section class="warning" id="few-codes">
  <p>Only ${left} recovery code${left === 1 ? '' : 's'} left. <a href="/mfa/recovery-codes/regenerate">Generate new ones</a> before you run out.</p>
</section>`}
${status.attention.includes('single_factor') && html`
<section class="warning" id="single-factor">
  <p>You have only one two-factor method. If you lose it, only your recovery codes get you in:
  add a second one below (a security key, a passkey or an authenticator app).</p>
</section>`}
${status.attention.includes('checkup_due') && html`
<section class="warning" id="checkup-due">
  <p>You turned on two-factor authentication more than four weeks ago and have not used it since.
  Check that your methods still work (log out and in again with one), and that your recovery codes are saved.</p>
</section>`}`;
}

export function accountPage(ctx: PageContext, view: AccountView): SafeHtml {
  const { status, factors } = view;
  const enabled = status.state === 'enabled' || status.state === 'locked';
  const pending = status.pendingEmailRecovery;
  const hasTotp = factors.some((f) => f.kind === 'totp');
  return html`
${view.removedByRecoveryAt !== undefined && !enabled && html`
<section class="warning" id="removed-by-recovery" aria-labelledby="removed-by-recovery-title">
  <h2 id="removed-by-recovery-title">Two-factor authentication was removed by email recovery: set it up again</h2>
  <p>An email recovery removed every two-factor method and recovery code ${when(view.removedByRecoveryAt, ctx.now)}.
  Until you set it up again, your password alone signs you in.</p>
  <p><a class="button" href="/mfa/setup" id="set-up-again">Set up two-factor authentication again</a></p>
</section>`}
<dl class="facts">
  <dt>Signed in as</dt><dd>${ctx.username}</dd>
  <dt>Two-factor authentication</dt><dd id="mfa-state" data-state="${status.state}">${stateLabel(status)}</dd>
  ${enabled && html`<dt>Recovery codes left</dt><dd id="codes-remaining">${status.recoveryCodesRemaining}</dd>`}
  ${status.state === 'locked' && html`<dt>Locked</dt><dd id="lock" data-cause="${status.lockCause ?? ''}">${lockLabel(ctx, status)}</dd>`}
</dl>
${status.state === 'locked' && html`
<p id="lock-waits">While your account is locked, codes, recovery codes and security keys are refused, and email recovery cannot be requested.</p>`}
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
  <p>Someone who knows your password asked ${when(pending.requestedAt, ctx.now)} to remove two-factor authentication by email.
  It can be completed ${when(pending.notBefore, ctx.now, 'up')}. If this was not you, cancel it and reset your password.</p>
  <form method="post" action="/mfa/email-recovery/cancel" class="card" id="cancel-recovery-form">
    ${csrfField(ctx)}
    <label for="cancel-password">Your password</label>
    <small id="cancel-password-hint">Your password is asked for so that a stolen browser session cannot stop your recovery.</small>
    ${fieldError(ctx, 'cancel-password')}
    <input id="cancel-password" name="password" type="password" autocomplete="current-password"${fieldAttrs(ctx, 'cancel-password', { hint: 'cancel-password-hint' })}>
    <button type="submit">Cancel the email recovery</button>
  </form>
</section>`}
${attentionBanners(status)}
${view.stepUpUntil !== undefined && html`
<p class="notice info" id="step-up-live">You confirmed your second factor: you can change these settings without confirming again until ${when(view.stepUpUntil, ctx.now)}.</p>`}
<section id="factors">
  <h2>Two-factor methods</h2>
  ${factors.length === 0
    ? html`<p id="no-factors">None yet. Add a second step to signing in: a 6-digit code from an authenticator app on your phone${view.keys ? ', or a security key or passkey' : ''}.
  Your password is asked for again first.</p>`
    : html`<ul class="factors" id="factor-list">${factors.map((factor) => factorItem(ctx, factor))}
  </ul>`}
  ${view.keys && html`
  <form method="get" action="/mfa/keys/new" class="card" id="add-key-form">
    <h3>Add a security key or passkey</h3>
    <label for="key-name">Name</label>
    <input id="key-name" name="name" maxlength="64" placeholder="e.g. YubiKey 5C, or Laptop passkey" autocomplete="off" aria-describedby="add-key-hint">
    <small id="add-key-hint">${factors.length === 0 ? 'Works on its own: no authenticator app needed.' : 'You will be asked to confirm your second factor first.'}</small>
    <button type="submit" id="add-key">Add a security key or passkey</button>
  </form>`}
  ${!hasTotp && html`
  <div class="card" id="add-totp-card">
    <h3>Add an authenticator app</h3>
    <p>Google Authenticator, 1Password, Authy, FreeOTP, …: scan a QR code, then enter the 6-digit codes it shows.</p>
    <p><a class="button" href="/mfa/setup" id="${factors.length === 0 ? 'setup-mfa' : 'add-totp'}">${factors.length === 0 ? 'Set up two-factor authentication' : 'Add an authenticator app'}</a></p>
  </div>`}
</section>
${(enabled || view.devices.length > 0) && devicesSection(ctx, view)}
${enabled && html`
<section id="recovery-codes-section">
  <h2>Recovery codes</h2>
  <p>Each code lets you sign in once without your second factor. Lost them, or used most of them? Make a new set: your current codes stop working at once.</p>
  <p><a class="button" href="/mfa/recovery-codes/regenerate" id="regenerate-codes">Generate new recovery codes</a></p>
</section>
<section id="disable-section">
  <h2>Turn off two-factor authentication</h2>
  <p class="warning-text">Removes every method and every recovery code: your password alone will sign you in.</p>
  <p><a class="button danger" href="/mfa/disable" id="disable-mfa">Turn off two-factor authentication</a></p>
</section>`}
<section id="password-section">
  <h2>Password</h2>
  <p>Changing your password signs out your other sessions and forgets every remembered browser.</p>
  <p><a class="button" href="/account/password" id="change-password">Change your password</a></p>
</section>`;
}

/**
 * "Are you sure?" before a sensitive change, shown only with a live step-up
 * grant: a fieldset whose legend says what the button does, the warning
 * before the button.
 */
export function confirmChangePage(
  ctx: PageContext,
  view: { legend: string; text: SafeHtml | string; action: string; button: string; danger?: boolean; stepUpUntil: number },
): SafeHtml {
  return html`
<form method="post" action="${view.action}" class="card" id="confirm-form">
  ${csrfField(ctx)}
  <fieldset>
    <legend>${view.legend}</legend>
    <p class="warning-text" id="confirm-warning">${view.text}</p>
    <small>You confirmed your second factor: this works without asking again until ${when(view.stepUpUntil, ctx.now)}.</small>
    <button type="submit" id="confirm-change" aria-describedby="confirm-warning"${view.danger ? html` class="danger"` : ''}>${view.button}</button>
  </fieldset>
</form>
<p><a href="/account">Cancel</a></p>`;
}

/**
 * The step-up page: confirm a fresh second factor before a sensitive change.
 * `warning`: what the change does, said before the forms (turning MFA off).
 */
export function stepUpPage(
  ctx: PageContext,
  view: { purpose: string; warning?: string | undefined; methods: readonly LoginMethod[]; webauthn?: PublicKeyCredentialRequestOptionsJSON | undefined },
): SafeHtml {
  const totp = view.methods.includes('totp');
  return html`
<p>To ${view.purpose}, confirm it is you with your second factor${view.webauthn ? ': use your security key' : ''}${totp ? `${view.webauthn ? ', or ' : ': '}enter a code from your authenticator app` : ''}.
Then you can change your two-factor settings for a few minutes without being asked again.</p>
${view.warning && html`<p class="warning-text" id="step-up-warning">${view.warning}</p>`}
${secondFactorForms(ctx, { methods: view.methods, webauthn: view.webauthn, codeAction: '/mfa/step-up', keyAction: '/mfa/step-up/webauthn', legends: true })}
<p><small>${totp ? 'The code field also takes one of your recovery codes (it is then used up).' : 'Each recovery code works once.'}</small></p>
<p><a href="/account">Cancel</a></p>`;
}

/** Adding a security key or passkey: a name, and the button that runs the browser's registration. */
export function addKeyPage(
  ctx: PageContext,
  view: { options: PublicKeyCredentialCreationOptionsJSON; name: string; expiresAt: number; first: boolean },
): SafeHtml {
  return html`
<p>Give it a name you will recognise, then press the button and follow your browser: insert and touch a security key,
or create a passkey on this device or your phone.${view.first ? ' It turns on two-factor authentication, and you get recovery codes.' : ''}</p>
${keyForm(ctx, {
    action: '/mfa/keys',
    ceremony: 'create',
    options: view.options,
    button: 'Add security key',
    buttonId: 'register-key',
    fields: html`<label for="key-name">Name</label>
  ${fieldError(ctx, 'key-name')}
  <input id="key-name" name="name" value="${view.name}" maxlength="64" placeholder="e.g. YubiKey 5C, or Laptop passkey" autocomplete="off"${fieldAttrs(ctx, 'key-name')}>`,
    hint: html`Leave the name empty for "Security key" (or "Passkey"). This expires ${when(view.expiresAt, ctx.now)}.`,
  })}
<p><a href="/account">Cancel</a></p>`;
}

/** The otpauth secret in blocks of four (`ABCD EFGH …`), easier to read and type; apps ignore the spaces. */
export function groupSecret(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(' ') ?? secret;
}

/** How authenticator apps name an account: `Issuer (account name)`. */
export function appAccountName(issuer: string, accountName: string): string {
  return `${issuer} (${accountName})`;
}

/** The "start over with a new QR code" form: `beginEnrollment(…, { restart: true })`. */
function restartForm(ctx: PageContext, label: string, id: string, primary: boolean): SafeHtml {
  return html`<form method="post" action="/mfa/setup/restart" class="${primary ? 'card' : 'inline-form'}" id="${id}-form">
  ${csrfField(ctx)}
  <button type="submit" id="${id}"${primary ? '' : html` class="secondary"`}>${label}</button>
</form>`;
}

/**
 * The QR code and key of a new authenticator app, and the code form.
 * `first`: it turns MFA on (else it is added next to a key). On a phone the
 * QR code cannot be scanned by the phone showing it: the otpauth:// link
 * opens the app, and the key can be copied (public/copy.js; without
 * JavaScript it is plain text to select) or typed.
 */
export function setupPage(
  ctx: PageContext,
  view: { qrDataUrl: string; uri: string; secret: string; expiresAt: number; issuer: string; accountName: string; first?: boolean },
): SafeHtml {
  const appName = appAccountName(view.issuer, view.accountName);
  return html`
<ol class="steps">
  <li>
    <h2 class="step">Add this account to your authenticator app</h2>
    <p>Scan this QR code with an authenticator app (Google Authenticator, 1Password, Authy, FreeOTP, …).</p>
    <img id="qr" src="${view.qrDataUrl}" alt="QR code to add ${appName} to your authenticator app">
    <p>On the phone that has the app? <a class="button secondary" id="open-app" href="${view.uri}">Open in authenticator app</a></p>
    <div class="key-entry" id="key-entry">
      <h3>Or enter the key by hand</h3>
      <p>In the app, choose to enter a setup key. The account will show as <strong id="app-account">${appName}</strong>: time-based, 6 digits.</p>
      <p class="secret-row"><code id="secret">${groupSecret(view.secret)}</code>
        <button type="button" class="secondary" id="copy-secret" data-copy="${view.secret}" data-status="copy-secret-status" hidden>Copy key</button></p>
      <p class="copy-status" id="copy-secret-status" role="status"></p>
    </div>
  </li>
  <li>
    <h2 class="step">Enter the code the app shows</h2>
    <form method="post" action="/mfa/setup" class="card" id="setup-form">
      ${csrfField(ctx)}
      ${totpField(ctx, { label: 'Code from your authenticator app' })}
      <small id="setup-expiry">This setup expires ${when(view.expiresAt, ctx.now)}.</small>
      <button type="submit">${view.first === false ? 'Add the authenticator app' : 'Turn on two-factor authentication'}</button>
    </form>
  </li>
</ol>
<p>Added a wrong entry, or lost it? ${restartForm(ctx, 'Start over with a new QR code', 'start-over', false)}</p>
<p><a href="/account">Cancel</a></p>`;
}

/** A setup whose time ran out before a code was entered: what happened, and a fresh start. */
export function setupExpiredPage(ctx: PageContext, view: { expiredAt: number }): SafeHtml {
  return html`
<p id="setup-expired">The QR code and key you were shown expired ${when(view.expiredAt, ctx.now)}: a setup has to be finished
within 10 minutes, and no right code was entered in time. Nothing was turned on.</p>
<p>If you added the entry to your authenticator app, remove it: its codes will not work. Then start again with a new QR code.</p>
${restartForm(ctx, 'Start again with a new QR code', 'restart-setup', true)}
<p><a href="/account">Cancel</a></p>`;
}

/**
 * The recovery codes, shown once. Download works without JavaScript;
 * Copy and Print appear with public/codes.js, which also warns before the
 * page is left (reload, Back, closing the tab) until "I have saved my
 * recovery codes" is pressed: that button POSTs, and the next page says
 * two-factor authentication is on. `after`: what led here (turning MFA on,
 * or new codes).
 */
export function recoveryCodesPage(ctx: PageContext, view: { codes: string[]; text: string; filename: string; after: 'enabled' | 'regenerated' }): SafeHtml {
  const href = `data:text/plain;charset=utf-8,${encodeURIComponent(view.text)}`;
  return html`
<p class="warning-text"><strong>Save these codes now: this is the only time they are shown.</strong> Reloading or leaving this page loses them.
Each one signs you in once if you lose your phone or security key. Keep them in a password manager, or print them and keep the paper safe.</p>
<ol id="recovery-codes" class="codes">
${view.codes.map((code) => html`<li><code>${code}</code></li>`)}
</ol>
<div class="code-actions" id="code-actions">
  <a id="download-codes" class="button" download="${view.filename}" href="${href}">Download .txt</a>
  <button type="button" class="secondary" id="copy-codes" data-copy="${view.codes.join('\n')}" data-status="codes-status" hidden>Copy</button>
  <button type="button" class="secondary" id="print-codes" hidden>Print</button>
</div>
<p class="copy-status" id="codes-status" role="status"></p>
<p id="lost-codes">Lost them later? While you can still sign in with your authenticator app or security key, generate a new set
on your account page: you confirm with that factor first, and the old codes stop working.</p>
<form method="post" action="/mfa/recovery-codes/saved" class="card" id="codes-saved-form">
  ${csrfField(ctx)}
  <input type="hidden" name="after" value="${view.after}">
  <button type="submit" id="codes-saved">I have saved my recovery codes</button>
</form>`;
}

export function recoveryCodesShownPage(_ctx: PageContext): SafeHtml {
  return html`
<p>Your recovery codes were already shown once; for your safety they cannot be shown again.</p>
<p>If you did not save them, generate a new set (the old codes stop working; you confirm your second factor first):</p>
<p><a class="button" href="/mfa/recovery-codes/regenerate" id="regenerate-codes">Generate new recovery codes</a></p>
<p><a href="/account">Back to your account</a></p>`;
}
