/** Pages of signing up and signing in: password, second factor, recovery code, email recovery. */
import { html, type SafeHtml } from '../html.ts';
import { formatDuration, when } from '../time.ts';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_MIN } from '../accounts.ts';
import type { LockCause, LoginMethod, PublicKeyCredentialRequestOptionsJSON } from 'twofold';
import { csrfField, fieldAttrs, fieldError, type PageContext } from './layout.ts';

export interface SignupForm {
  username?: string;
}

/** Errors (the page's `error`, layout.ts) name the field they are about: `username` or `password`. */
export function signupPage(ctx: PageContext, form: SignupForm = {}): SafeHtml {
  return html`
<p>Create a demo account. Passwords are hashed with Argon2id and kept, like everything here, in the example's own database.</p>
<form method="post" action="/signup" class="card">
  ${csrfField(ctx)}
  <label for="username">Username</label>
  ${fieldError(ctx, 'username')}
  <input id="username" name="username" autocomplete="username" required minlength="${USERNAME_MIN}" maxlength="${USERNAME_MAX}" value="${form.username ?? ''}" autocapitalize="none" spellcheck="false"${fieldAttrs(ctx, 'username', { hint: 'username-hint' })}>
  <small id="username-hint">${USERNAME_MIN}–${USERNAME_MAX} characters: a–z, 0–9, dot, underscore, hyphen.</small>
  <label for="password">Password</label>
  ${fieldError(ctx, 'password')}
  <input id="password" name="password" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}"${fieldAttrs(ctx, 'password', { hint: 'password-hint' })}>
  <small id="password-hint">${PASSWORD_MIN}–${PASSWORD_MAX} characters.</small>
  <button type="submit">Sign up</button>
</form>
<p>Already have an account? <a href="/login">Log in</a>.</p>`;
}

export interface LoginForm {
  username?: string;
}

/** Errors name the field they are about (`password` for a wrong username or password: the same words either way). */
export function loginPage(ctx: PageContext, form: LoginForm = {}): SafeHtml {
  return html`
<form method="post" action="/login" class="card">
  ${csrfField(ctx)}
  <label for="username">Username</label>
  ${fieldError(ctx, 'username')}
  <input id="username" name="username" autocomplete="username" required value="${form.username ?? ''}" autocapitalize="none" spellcheck="false"${fieldAttrs(ctx, 'username')}>
  <label for="password">Password</label>
  ${fieldError(ctx, 'password')}
  <input id="password" name="password" type="password" autocomplete="current-password" required${fieldAttrs(ctx, 'password')}>
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
  /** Group each form in a fieldset with a "Confirm with …" legend (the step-up page). */
  legends?: boolean;
  /** The code form's button. Default "Verify". */
  codeButton?: string;
}

/** The code field's hint: what it takes. */
export const CODE_HINT = '6 digits, spaces are fine.';
/**
 * An authenticator code: 6 digits, with an optional space (as apps show it:
 * `123 456`). Where the field also takes a recovery code, the pattern is not
 * set (a recovery code does not match it); the server tells the two apart.
 */
export const TOTP_PATTERN = '\\s*[0-9]{3}\\s?[0-9]{3}\\s*';
/** Long enough for `123 456` with stray spaces around, short enough to stop a paste of something else. */
export const TOTP_MAXLENGTH = 10;

/** The field for an authenticator code (id `code`). `alsoRecovery`: it also takes a recovery code. */
export function totpField(ctx: PageContext, options: { label: string; alsoRecovery?: boolean; focus?: boolean }): SafeHtml {
  const hint = options.alsoRecovery ? `${CODE_HINT} Or one of your recovery codes.` : CODE_HINT;
  return html`<label for="code">${options.label}</label>
  <small id="code-hint">${hint}</small>
  ${fieldError(ctx, 'code')}
  <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required spellcheck="false" autocapitalize="none"${options.alsoRecovery
    ? html` maxlength="100"`
    : html` pattern="${TOTP_PATTERN}" maxlength="${TOTP_MAXLENGTH}" title="6 digits"`}${fieldAttrs(ctx, 'code', { hint: 'code-hint', focus: options.focus ?? false })}>`;
}

/** The "Remember this browser" checkbox of one form (`id` differs per form, the name does not). */
function rememberField(remember: { days: number; checked: boolean }, id: string): SafeHtml {
  return html`<label class="check" for="${id}"><input type="checkbox" id="${id}" name="remember" value="1"${remember.checked ? html` checked` : ''}> Remember this browser for ${remember.days} days</label>
  <small id="${id}-hint">Only on a browser that is yours alone. You can forget it on your account page.</small>`;
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
  view: { action: string; ceremony: 'get' | 'create'; options: object; button: string; buttonId: string; fields?: SafeHtml; hint?: SafeHtml | string; legend?: string },
): SafeHtml {
  const inner = html`
  ${view.fields}
  <input type="hidden" name="response" value="">
  ${view.hint && html`<small id="${view.buttonId}-hint">${view.hint}</small>`}
  ${fieldError(ctx, view.buttonId)}
  <button type="submit" id="${view.buttonId}"${fieldAttrs(ctx, view.buttonId, view.hint ? { hint: `${view.buttonId}-hint` } : {})}>${view.button}</button>
  <p class="key-status" data-webauthn-status role="status" hidden></p>`;
  return html`
<form method="post" action="${view.action}" class="card key" data-webauthn="${view.ceremony}" data-options="${JSON.stringify(view.options)}">
  ${csrfField(ctx)}
  ${view.legend ? html`<fieldset><legend>${view.legend}</legend>${inner}</fieldset>` : inner}
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
    ...(view.legends ? { legend: 'Confirm with your security key or passkey' } : {}),
    ...(view.remember ? { fields: rememberField(view.remember, 'remember-key') } : {}),
  })}
<form method="post" action="${view.codeAction}" class="card" id="code-form">
  ${csrfField(ctx)}
  ${view.legends ? html`<fieldset><legend>${totp ? 'Confirm with a code from your authenticator app' : 'Confirm with a recovery code'}</legend>` : ''}
  ${totp
    ? totpField(ctx, { label: 'Authentication code', alsoRecovery: true, focus: !view.webauthn })
    : recoveryCodeField(ctx, 'code', !view.webauthn)}
  ${view.remember && rememberField(view.remember, 'remember')}
  <button type="submit">${view.codeButton ?? 'Verify'}</button>
  ${view.legends ? html`</fieldset>` : ''}
</form>`;
}

/** The field for a recovery code (id `id`). */
export function recoveryCodeField(ctx: PageContext, id: string, focus: boolean): SafeHtml {
  return html`<label for="${id}">Recovery code</label>
  <small id="${id}-hint">24 letters and digits, as on your saved list. Dashes, spaces and case do not matter.</small>
  ${fieldError(ctx, id)}
  <input id="${id}" name="${id}" autocomplete="off" autocapitalize="characters" required maxlength="100" spellcheck="false" placeholder="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX"${fieldAttrs(ctx, id, { hint: `${id}-hint`, focus })}>`;
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
${secondFactorForms(ctx, { methods: view.methods, webauthn: view.webauthn, codeAction: '/login/mfa', keyAction: '/login/webauthn', remember: view.remember })}
<ul class="alternatives">
  ${totp && html`<li>No phone at hand? <a href="/login/recovery">Use a recovery code</a>.</li>`}
  <li><a href="/login/recover">${totp ? 'Lost your phone and your codes?' : 'Lost your keys and your codes?'}</a></li>
</ul>`;
}

export function loginRecoveryCodePage(ctx: PageContext): SafeHtml {
  return html`
<p>Enter one of the recovery codes you saved when you set up two-factor authentication. Each code works once.</p>
<form method="post" action="/login/recovery" class="card">
  ${csrfField(ctx)}
  ${recoveryCodeField(ctx, 'recoveryCode', true)}
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
  <li>we also email the address on the account right away that a recovery was asked for, so that its owner knows
  even if this was not them; any sign-in with the second factor cancels the recovery;</li>
  <li>it cannot be requested while your account is locked, and a lock cancels a pending one. A recovery never ends a lock.</li>
</ul>
<form method="post" action="/login/recover" class="card">
  ${csrfField(ctx)}
  <button type="submit">Email me a recovery link</button>
</form>
<p><a href="/login/mfa">Back to the code form</a></p>`;
}

export function recoverRequestedPage(ctx: PageContext, info: { maskedEmail: string; notBefore: number; expiresAt: number }): SafeHtml {
  return html`
<p>We emailed a recovery link to <strong>${info.maskedEmail}</strong>, with a note that a recovery was asked for:
if someone else ever does this, that note tells you.</p>
<p id="link-works">The link starts working ${when(info.notBefore, ctx.now, 'up')}, and stops working ${when(info.expiresAt, ctx.now, 'down')}.
Open it then, log in with your password, and set up two-factor authentication again.</p>
<p>If you find your phone or codes meanwhile, just log in with them: that cancels the recovery.</p>
<p><a href="/">Home</a></p>`;
}

export type RecoverOutcome =
  | { kind: 'completed' }
  | { kind: 'too_early'; notBefore: number | undefined }
  | { kind: 'expired' }
  | { kind: 'cancelled' }
  | { kind: 'used'; completedAt: number }
  | { kind: 'invalid' };

/** What the top of the page says about each outcome (an error but for `completed`). */
export function recoverOutcomeMessage(outcome: RecoverOutcome): string {
  switch (outcome.kind) {
    case 'completed':
      return 'Two-factor authentication was removed from your account.';
    case 'too_early':
      return 'This recovery link does not work yet.';
    case 'expired':
      return 'This recovery link has expired.';
    case 'cancelled':
      return 'This recovery was cancelled.';
    case 'used':
      return 'This recovery link was already used.';
    case 'invalid':
      return 'This recovery link is not valid.';
  }
}

/** The body of the page behind the emailed recovery link (its first sentence is the page's notice or error: {@link recoverOutcomeMessage}). */
export function recoverCompletePage(ctx: PageContext, outcome: RecoverOutcome): SafeHtml {
  switch (outcome.kind) {
    case 'completed':
      return html`
<p>Log in with your password, then set up two-factor authentication again: your account page reminds you until you do.</p>
<p><a class="button" href="/login">Log in</a></p>`;
    case 'too_early':
      return html`
<p>${outcome.notBefore === undefined ? 'The waiting period is not over yet.' : html`It starts working ${when(outcome.notBefore, ctx.now, 'up')}. Open it again then.`}</p>`;
    case 'expired':
      return html`
<p>Log in with your password and request a new one from the code page.</p>`;
    case 'cancelled':
      return html`
<p>Someone signed in with the second factor or cancelled it from the account page, or the account was locked.
If that was not you, request a new recovery (not possible while the account is locked).</p>`;
    case 'used':
      return html`
<p id="link-used">It removed two-factor authentication from the account ${when(outcome.completedAt, ctx.now)}, and works only once.
Log in with your password, then set up two-factor authentication again.</p>
<p><a class="button" href="/login">Log in</a></p>`;
    case 'invalid':
      return html`
<p>Use the most recent link we emailed you, or sign in with your password and request a new one.</p>`;
  }
}

/** What a lock screen needs: the lock, and where to go from it. */
export interface LockView {
  retryAt: number | null;
  cause?: LockCause | undefined;
  /** Signed in (a lock at the step-up): back to the account page; else back to the login. */
  signedIn: boolean;
}

/**
 * A locked account's own screen: what happened, how long in words, that
 * recovery codes, security keys and email recovery wait too, and no code
 * field (nothing can be tried until the lock ends).
 */
export function lockedPage(ctx: PageContext, view: LockView): SafeHtml {
  const back = view.signedIn ? html`<a href="/account">Back to your account</a>` : html`<a href="/login">Log in again</a>`;
  const waits = html`<p id="lock-waits">Until then nothing else gets you in either: recovery codes and security keys are
  refused too, and email recovery cannot be requested (a lock cancels a pending one).</p>`;
  if (view.retryAt !== null) {
    return html`
<div class="lock" id="lock-screen" data-cause="failures">
<p class="lock-when" id="lock-when">Too many wrong codes were entered. <strong>Try again ${when(view.retryAt, ctx.now, 'up')}.</strong></p>
<p>The lock ends by itself then: you need not do anything. Whoever typed the codes knew your password;
if that was not you, reset your password once you are back in.</p>
${waits}
<p>${back} after that.</p>
</div>`;
  }
  if (view.cause === 'failure_limit') {
    return html`
<div class="lock" id="lock-screen" data-cause="failure_limit">
<p class="lock-when" id="lock-when">Your account is locked after too many wrong codes: <strong>whoever typed them knows your password</strong>.
The lock does not end by itself.</p>
<p>Reset your password by email to end the lock (it also signs out every session), or contact support.</p>
${waits}
<p><a class="button" href="/forgot-password">Reset your password</a></p>
</div>`;
  }
  return html`
<div class="lock" id="lock-screen" data-cause="${view.cause ?? ''}">
<p class="lock-when" id="lock-when">${view.cause === 'manual'
    ? 'Your account was locked by support. Only support can unlock it.'
    : 'Your account is locked. Support can unlock it; a lock after too many wrong codes also ends when you reset your password.'}</p>
${waits}
<p>${back} once support has unlocked it.</p>
</div>`;
}
