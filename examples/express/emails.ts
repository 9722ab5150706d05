/**
 * The emails the account owner receives: those made from twofold's events,
 * and the host's own about the password. Events carry no secrets, codes or
 * tokens, so neither do their emails. The emails that hold a secret (the
 * recovery link, the password-reset link) are written by the route that
 * receives the token (routes/recover.ts, routes/password-reset.ts).
 */
import type { MfaEvent } from 'twofold';
import type { Account } from './accounts.ts';
import { emailTime, formatDuration, relativeTime } from './time.ts';

export interface EmailContent {
  subject: string;
  text: string;
}

const NOT_YOU =
  'If this was not you, someone knows your password: reset it ("Forgot your password?" on the login page), and check your account page.';

/** Links an event email may point to (absolute, on the public origin: links.ts); built only when used. */
export interface EventLinks {
  /** The "forgot your password?" page for this account. */
  passwordReset(): string;
}

const NO_RECOVERY_WHILE_LOCKED =
  'While your account is locked, email recovery cannot be requested, and any pending one is cancelled.';

/** The email to send the owner for `event`, or null for events that need none (routine logins, reveals). */
export function emailForEvent(event: MfaEvent, account: Account, links: EventLinks): EmailContent | null {
  const hello = `Hello ${account.username},\n\n`;
  const at = emailTime(event.at);
  switch (event.type) {
    case 'mfa.enabled':
      return {
        subject: 'Two-factor authentication is on',
        text: `${hello}two-factor authentication was turned on for your account at ${at}. Your other sessions were signed out.\n\n${NOT_YOU}`,
      };
    case 'mfa.disabled':
      return {
        subject: 'Two-factor authentication is off',
        text:
          `${hello}two-factor authentication was turned off for your account at ${at} ` +
          `(confirmed with ${provedWith(event.method)}). ` +
          `Your other sessions were signed out.\n\n${NOT_YOU}`,
      };
    case 'recovery_code.used':
      return {
        subject: 'A recovery code was used',
        text:
          `${hello}one of your recovery codes was used at ${at} to ${usedFor(event.context)}. ` +
          `${event.recoveryCodesRemaining} unused code${event.recoveryCodesRemaining === 1 ? '' : 's'} left.` +
          (event.recoveryCodesRemaining <= 3 ? ' Generate new codes on your account page soon.' : '') +
          `\n\n${NOT_YOU}`,
      };
    case 'recovery_codes.regenerated':
      return {
        subject: 'New recovery codes',
        text: `${hello}${event.count} new recovery codes were generated at ${at}. Your old codes no longer work.\n\n${NOT_YOU}`,
      };
    case 'account.locked':
      return lockedEmail(event, hello, at, links);
    case 'email_recovery.requested':
      return {
        subject: 'Someone asked to remove your second factor',
        text:
          `${hello}at ${at} someone who knows your password asked to remove two-factor authentication ` +
          `from your account by email recovery. It can be completed from ${emailTime(event.notBefore, 'up')} ` +
          `(after a wait of ${formatDuration(event.notBefore - event.at)}) with the link we sent separately.\n\n` +
          'If this was you, wait and then use that link.\n' +
          'If this was NOT you: sign in with your authenticator app or a recovery code, which cancels the ' +
          'recovery, or cancel it on your account page. Then reset your password.',
      };
    case 'email_recovery.cancelled':
      return {
        subject: 'Email recovery cancelled',
        text: `${hello}the pending email recovery of your account was cancelled at ${at} ${cancelledBecause(event.cause)}. The recovery link no longer works.`,
      };
    case 'email_recovery.completed':
      return {
        subject: 'Two-factor authentication removed by email recovery',
        text:
          `${hello}an email recovery was completed at ${at}: two-factor authentication is off and your recovery codes ` +
          `no longer work. Your other sessions were signed out. Sign in with your password and set up ` +
          `two-factor authentication again.\n\n${NOT_YOU}`,
      };
    case 'factor.added':
      return {
        subject: event.kind === 'webauthn' ? 'A security key was added' : 'An authenticator app was added',
        text: `${hello}${event.kind === 'webauthn' ? 'a security key or passkey' : 'an authenticator app'} was added to your account at ${at}. It can now be used to sign in.\n\n${NOT_YOU}`,
      };
    case 'factor.removed':
      return {
        subject: event.kind === 'webauthn' ? 'A security key was removed' : 'An authenticator app was removed',
        text: `${hello}${event.kind === 'webauthn' ? 'a security key or passkey' : 'an authenticator app'} was removed from your account at ${at}.\n\n${NOT_YOU}`,
      };
    case 'webauthn.counter_regressed':
      return {
        subject: 'A security key may have been copied',
        text:
          `${hello}at ${at} a sign-in was refused because one of your security keys reported a signature counter ` +
          'lower than before. This can mean the key was cloned. Remove that key on your account page and use another factor.',
      };
    case 'mfa.reset':
      return {
        subject: 'Two-factor authentication was reset by support',
        text: `${hello}at ${at} support reset two-factor authentication on your account. Sign in with your password and set it up again.\n\n${NOT_YOU}`,
      };
    case 'device.token_reused':
      return {
        subject: 'A copy of your sign-in cookie was used',
        text:
          `${hello}at ${at} a browser presented an old "remember this browser" token of your account, one that had ` +
          'already been replaced. That happens when the cookie was copied to another computer. We forgot that browser: ' +
          'it must enter a code again. Every session of your account was signed out, in case one was signed in with the copy.' +
          `\n\n${NOT_YOU}`,
      };
    case 'device.remembered':
    case 'device.forgotten':
    case 'enrollment.started':
    case 'login.succeeded':
    case 'login.failed':
    case 'recovery_codes.revealed':
    case 'account.unlocked':
    case 'step_up.succeeded':
      return null;
  }
}

function provedWith(method: 'totp' | 'recovery_code' | 'webauthn' | 'step_up'): string {
  switch (method) {
    case 'totp':
      return 'an authenticator code';
    case 'recovery_code':
      return 'a recovery code';
    case 'webauthn':
      return 'a security key';
    case 'step_up':
      return 'a recent confirmation of your second factor';
  }
}

/**
 * What ends each kind of lock, said plainly (email recovery never does):
 * - `failures`: ends by itself at `retryAt`;
 * - `failure_limit`: 100 wrong codes without a right one, so the password is
 *   known for certain: a password reset by email ends it (this host's rule,
 *   routes/password-reset.ts), or support;
 * - `manual`: support's; only support ends it.
 */
function lockedEmail(event: Extract<MfaEvent, { type: 'account.locked' }>, hello: string, at: string, links: EventLinks): EmailContent {
  switch (event.cause) {
    case 'failures':
      return {
        subject: 'Your account is locked',
        text:
          `${hello}your account was locked at ${at} after too many wrong codes in a row. ` +
          `You can try again ${relativeTime(event.retryAt ?? event.at, event.at)}, after ${emailTime(event.retryAt ?? event.at, 'up')}. The lock ends by itself then. ` +
          `${NO_RECOVERY_WHILE_LOCKED}\n\nSomeone entering wrong codes already knew your password. ${NOT_YOU}`,
      };
    case 'failure_limit':
      return {
        subject: 'Your account is locked: your password is known',
        text:
          `${hello}your account was locked at ${at} after 100 wrong codes without a right one. ` +
          'Codes are asked for only after the right password, so whoever typed them knows your password: ' +
          'treat it as stolen.\n\n' +
          `This lock does not end by itself. Reset your password here:\n\n${links.passwordReset()}\n\n` +
          'The new password ends this lock and signs out every session of your account. Support can also unlock it. ' +
          NO_RECOVERY_WHILE_LOCKED,
      };
    case 'manual':
      return {
        subject: 'Your account is locked',
        text:
          `${hello}your account was locked by support at ${at}. It stays locked until support unlocks it; ` +
          `a password reset does not end this lock. ${NO_RECOVERY_WHILE_LOCKED}`,
      };
  }
}

/** The reset link, to the owner's address only (a newer request replaces it). */
export function passwordResetEmail(account: Account, link: string, expiresAt: number): EmailContent {
  return {
    subject: 'Reset your password',
    text:
      `Hello ${account.username},\n\nto set a new password, open this link:\n\n${link}\n\n` +
      `It works once, until ${emailTime(expiresAt)}. Setting a new password signs out every session of your ` +
      'account and ends a lock caused by wrong codes (not a lock by support).\n\n' +
      'If you did not ask for this, ignore this email: your password stays as it is.',
  };
}

/** What a finished reset did to a lock: ended it, left support's lock in place, or there was none. */
export type ResetLockOutcome = 'ended' | 'kept_manual' | 'none';

/** How the password was changed, and what that did. */
export type PasswordChange =
  /** By the emailed link ("forgot your password?"): every session ended, failure locks too. */
  | { via: 'reset'; lock: ResetLockOutcome; devicesForgotten: number }
  /** By the signed-in user on the account page, with the current password: the other sessions ended. */
  | { via: 'change'; devicesForgotten: number };

/** "2 remembered browsers were forgotten: …", or nothing when there were none. */
export function forgottenBrowsersText(count: number): string {
  if (count === 0) return '';
  return count === 1
    ? ' The remembered browser of your account was forgotten: it will ask for your second factor again.'
    : ` ${count} remembered browsers were forgotten: they will ask for your second factor again.`;
}

export function passwordChangedEmail(account: Account, at: number, change: PasswordChange): EmailContent {
  const devices = forgottenBrowsersText(change.devicesForgotten);
  if (change.via === 'change') {
    return {
      subject: 'Your password was changed',
      text:
        `Hello ${account.username},\n\nthe password of your account was changed at ${emailTime(at)} from your account page, ` +
        `with the current password. Your other sessions were signed out.${devices}\n\n` +
        'If this was not you, someone knows your password and was signed in: reset it now ("Forgot your password?" ' +
        'on the login page), which signs out every session, and check your account page.',
    };
  }
  const lockText =
    change.lock === 'ended'
      ? ' The lock that wrong codes had put on your account has ended.'
      : change.lock === 'kept_manual'
        ? ' Your account stays locked by support: only support can unlock it.'
        : '';
  return {
    subject: 'Your password was changed',
    text:
      `Hello ${account.username},\n\nthe password of your account was changed at ${emailTime(at)} with a reset link ` +
      `we emailed you. Every session of your account was signed out.${lockText}${devices}\n\n` +
      'If this was not you, someone can read your email: secure your mailbox, then reset your password again.',
  };
}

function usedFor(context: 'login' | 'step_up' | 'disable' | 'regenerate' | 'add_factor' | 'remove_factor'): string {
  switch (context) {
    case 'login':
      return 'sign in';
    case 'step_up':
      return 'confirm a sensitive change';
    case 'disable':
      return 'turn off two-factor authentication';
    case 'regenerate':
      return 'generate new recovery codes';
    case 'add_factor':
      return 'add a second factor';
    case 'remove_factor':
      return 'remove a second factor';
  }
}

function cancelledBecause(cause: 'mfa_login' | 'step_up' | 'manual' | 'superseded' | 'mfa_disabled' | 'account_locked' | 'mfa_reset'): string {
  switch (cause) {
    case 'mfa_login':
      return 'because you signed in with your second factor';
    case 'step_up':
      return 'because you confirmed your second factor';
    case 'mfa_reset':
      return 'because support reset two-factor authentication';
    case 'manual':
      return 'from your account page';
    case 'superseded':
      return 'because a new recovery was requested';
    case 'mfa_disabled':
      return 'because two-factor authentication was turned off';
    case 'account_locked':
      return 'because your account was locked (no email recovery can be requested or completed while it is locked)';
  }
}
