/** Pages of signing up and signing in: password, second factor, recovery code, email recovery. */
import { html, type SafeHtml } from '../html.ts';
import { formatDuration, formatTime } from '../time.ts';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_MIN } from '../accounts.ts';
import type { LoginMethod, PublicKeyCredentialRequestOptionsJSON } from 'twofold';
import { csrfField, notice, type PageContext } from './layout.ts';

export interface SignupForm {
  username?: string;
  error?: string;
}

export function signupPage(ctx: PageContext, form: SignupForm = {}): SafeHtml {
  return html`
<p>Create a demo account. Passwords are hashed with Argon2id and kept, like everything here, in the example's own database.</p>
${notice('error', form.error)}
<form method="post" action="/signup" class="card">
  ${csrfField(ctx)}
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required minlength="${USERNAME_MIN}" maxlength="${USERNAME_MAX}" value="${form.username ?? ''}" autocapitalize="none" spellcheck="false">
  <small>${USERNAME_MIN}–${USERNAME_MAX} characters: a–z, 0–9, dot, underscore, hyphen.</small>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}">
  <small>${PASSWORD_MIN}–${PASSWORD_MAX} characters.</small>
  <button type="submit">Sign up</button>
</form>
<p>Already have an account? <a href="/login">Log in</a>.</p>`;
}

export interface LoginForm {
  username?: string;
  error?: string;
}

export function loginPage(ctx: PageContext, form: LoginForm = {}): SafeHtml {
  return html`
${notice('error', form.error)}
<form method="post" action="/login" class="card">
  ${csrfField(ctx)}
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required value="${form.username ?? ''}" autocapitalize="none" spellcheck="false">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Log in</button>
</form>
<p><a href="/forgot-password">Forgot your password?</a></p>
<p>No account yet? <a href="/signup">Sign up</a>.</p>`;
}

/** What a second-factor page (login or step-up) offers: twofold's `methods` and, for a user with keys, the request options. */
export interface SecondFactorView {
  methods: readonly LoginMethod[];
  /** startLogin's / startStepUp's `webauthn`: handed to the browser in `data-options`. */
  webauthn?: PublicKeyCredentialRequestOptionsJSON | undefined;
  /** Where the code form posts (`code`: an authenticator code or a recovery code). */
  codeAction: string;
  /** Where the key form posts (`response`: the browser's AuthenticationResponseJSON as JSON). */
  keyAction: string;
  /** At the login only: offer "Remember this browser" in each form (`remember=1`), ticked when `checked`. */
  remember?: { days: number; checked: boolean } | undefined;
}

/** The "Remember this browser" checkbox of one form (`id` differs per form, the name does not). */
function rememberField(remember: { days: number; checked: boolean }, id: string): SafeHtml {
  return html`<label class="check" for="${id}"><input type="checkbox" id="${id}" name="remember" value="1"${remember.checked ? html` checked` : ''}> Remember this browser for ${remember.days} days</label>
  <small>Only on a browser that is yours alone. You can forget it on your account page.</small>`;
}

/**
 * A form that runs a WebAuthn ceremony in the browser (public/webauthn.js):
 * the options go to the page as JSON in `data-options` (escaped like any
 * attribute), the script puts the browser's answer, as JSON, in the hidden
 * `response` field and submits the form with its CSRF token. No inline
 * script; without JavaScript the form posts an empty answer and the server
 * says so.
 */
export function keyForm(
  ctx: PageContext,
  view: { action: string; ceremony: 'get' | 'create'; options: object; button: string; buttonId: string; fields?: SafeHtml; hint?: string },
): SafeHtml {
  return html`
<form method="post" action="${view.action}" class="card key" data-webauthn="${view.ceremony}" data-options="${JSON.stringify(view.options)}">
  ${csrfField(ctx)}
  ${view.fields}
  <input type="hidden" name="response" value="">
  ${view.hint && html`<small>${view.hint}</small>`}
  <button type="submit" id="${view.buttonId}">${view.button}</button>
  <p class="key-status" data-webauthn-status role="status" hidden></p>
</form>`;
}

/** The key button (when the user holds keys) next to the code form: the same on the login and the step-up page. */
export function secondFactorForms(ctx: PageContext, view: SecondFactorView): SafeHtml {
  const totp = view.methods.includes('totp');
  return html`
${view.webauthn && keyForm(ctx, {
    action: view.keyAction,
    ceremony: 'get',
    options: view.webauthn,
    button: 'Use your security key',
    buttonId: 'use-key',
    hint: 'Insert and touch your security key, or use your passkey, when your browser asks.',
    ...(view.remember ? { fields: rememberField(view.remember, 'remember-key') } : {}),
  })}
<form method="post" action="${view.codeAction}" class="card">
  ${csrfField(ctx)}
  ${totp
    ? html`<label for="code">Authentication code</label>
  <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required${view.webauthn ? '' : html` autofocus`} maxlength="40" spellcheck="false">`
    : html`<label for="code">Recovery code</label>
  <input id="code" name="code" autocomplete="off" autocapitalize="characters" required maxlength="100" spellcheck="false" placeholder="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX">`}
  ${view.remember && rememberField(view.remember, 'remember')}
  <button type="submit">Verify</button>
</form>`;
}

/**
 * The second step of a login: a code (or a recovery code) and, for a user
 * with keys, the key button; each form with "Remember this browser".
 */
export function loginCodePage(
  ctx: PageContext,
  view: {
    methods: readonly LoginMethod[];
    webauthn?: PublicKeyCredentialRequestOptionsJSON | undefined;
    remember: { days: number; checked: boolean };
    error?: string | undefined;
  },
): SafeHtml {
  const totp = view.methods.includes('totp');
  const intro = totp
    ? view.webauthn
      ? 'Your password was right. Now use your security key, or enter the 6-digit code your authenticator app shows for this site.'
      : 'Your password was right. Now enter the 6-digit code your authenticator app shows for this site.'
    : 'Your password was right. Now use your security key or passkey, or enter one of your recovery codes.';
  return html`
<p>${intro}</p>
${notice('error', view.error)}
${secondFactorForms(ctx, { methods: view.methods, webauthn: view.webauthn, codeAction: '/login/mfa', keyAction: '/login/webauthn', remember: view.remember })}
<ul class="alternatives">
  ${totp && html`<li>No phone at hand? <a href="/login/recovery">Use a recovery code</a>.</li>`}
  <li><a href="/login/recover">${totp ? 'Lost your phone and your codes?' : 'Lost your keys and your codes?'}</a></li>
</ul>`;
}

export function loginRecoveryCodePage(ctx: PageContext, error?: string): SafeHtml {
  return html`
<p>Enter one of the recovery codes you saved when you set up two-factor authentication. Each code works once.</p>
${notice('error', error)}
<form method="post" action="/login/recovery" class="card">
  ${csrfField(ctx)}
  <label for="recoveryCode">Recovery code</label>
  <input id="recoveryCode" name="recoveryCode" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus maxlength="100" placeholder="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX">
  <button type="submit">Verify</button>
</form>
<ul class="alternatives">
  <li><a href="/login/mfa">Use your authenticator app or security key instead</a>.</li>
  <li><a href="/login/recover">Lost your phone and your codes?</a></li>
</ul>`;
}

export function recoverRequestPage(ctx: PageContext, delayMs: number): SafeHtml {
  return html`
<p>If you lost both your authenticator app and your recovery codes, we can remove two-factor
authentication from your account by email. To protect you from someone who learned your password:</p>
<ul>
  <li>the link we email you works only after a waiting period of <strong>${formatDuration(delayMs)}</strong>;</li>
  <li>the account owner is told by email right away, and any sign-in with the second factor cancels the recovery;</li>
  <li>it cannot be requested while your account is locked, and a lock cancels a pending one. A recovery never ends a lock.</li>
</ul>
<form method="post" action="/login/recover" class="card">
  ${csrfField(ctx)}
  <button type="submit">Email me a recovery link</button>
</form>
<p><a href="/login/mfa">Back to the code form</a></p>`;
}

export function recoverRequestedPage(_ctx: PageContext, info: { maskedEmail: string; notBefore: number; expiresAt: number; now: number }): SafeHtml {
  return html`
<p>We sent a recovery link to <strong>${info.maskedEmail}</strong>, and told the account owner that a recovery was requested.</p>
<p>The link works from <strong>${formatTime(info.notBefore)}</strong> (in ${formatDuration(info.notBefore - info.now)})
until ${formatTime(info.expiresAt)}. Open it then, sign in with your password, and set up two-factor authentication again.</p>
<p>If you find your phone or codes meanwhile, just sign in with them: that cancels the recovery.</p>
<p><a href="/">Home</a></p>`;
}

export type RecoverOutcome =
  | { kind: 'completed' }
  | { kind: 'too_early'; notBefore: number | undefined; now: number }
  | { kind: 'expired' }
  | { kind: 'cancelled' }
  | { kind: 'invalid' };

export function recoverCompletePage(_ctx: PageContext, outcome: RecoverOutcome): SafeHtml {
  switch (outcome.kind) {
    case 'completed':
      return html`
${notice('info', 'Two-factor authentication was removed from your account.')}
<p>Sign in with your password, then set up two-factor authentication again from your account page.</p>
<p><a class="button" href="/login">Log in</a></p>`;
    case 'too_early':
      return html`
${notice('error', 'This recovery link does not work yet.')}
<p>${outcome.notBefore === undefined
        ? 'The waiting period is not over yet.'
        : `It works from ${formatTime(outcome.notBefore)} (in ${formatDuration(outcome.notBefore - outcome.now)}). Open it again then.`}</p>`;
    case 'expired':
      return html`
${notice('error', 'This recovery link has expired.')}
<p>Sign in with your password and request a new one from the code page.</p>`;
    case 'cancelled':
      return html`
${notice('error', 'This recovery was cancelled.')}
<p>Someone signed in with the second factor or cancelled it from the account page, or the account was locked.
If that was not you, request a new recovery (not possible while the account is locked).</p>`;
    case 'invalid':
      return html`
${notice('error', 'This recovery link is not valid.')}
<p>Use the most recent link we emailed you, or sign in with your password and request a new one.</p>`;
  }
}
