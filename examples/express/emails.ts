/**
 * The emails the account owner receives, made from twofold's events. Events
 * carry no secrets, codes or tokens, so neither do these emails. The one
 * email that holds a secret, the recovery link, is written by the route that
 * receives the token (see routes/recover.ts).
 */
import type { MfaEvent } from 'twofold';
import type { Account } from './accounts.ts';
import { formatDuration, formatTime } from './time.ts';

export interface EmailContent {
  subject: string;
  text: string;
}

const NOT_YOU =
  'If this was not you, someone knows your password: change it, and check your account page.';

/** The email to send the owner for `event`, or null for events that need none (routine logins, reveals). */
export function emailForEvent(event: MfaEvent, account: Account): EmailContent | null {
  const hello = `Hello ${account.username},\n\n`;
  const at = formatTime(event.at);
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
          `(confirmed with ${event.method === 'totp' ? 'an authenticator code' : 'a recovery code'}). ` +
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
      return {
        subject: 'Your account is locked',
        text:
          `${hello}your account was locked at ${at} ` +
          (event.cause === 'manual' ? 'by an administrator' : 'after too many wrong codes') +
          (event.retryAt === null
            ? '. It stays locked until support unlocks it or you complete an email recovery.'
            : `. You can try again after ${formatTime(event.retryAt)}.`) +
          `\n\nSomeone entering wrong codes already knew your password. ${NOT_YOU}`,
      };
    case 'email_recovery.requested':
      return {
        subject: 'Someone asked to remove your second factor',
        text:
          `${hello}at ${at} someone who knows your password asked to remove two-factor authentication ` +
          `from your account by email recovery. It can be completed after ${formatTime(event.notBefore)} ` +
          `(after a wait of ${formatDuration(event.notBefore - event.at)}) with the link we sent separately.\n\n` +
          'If this was you, wait and then use that link.\n' +
          'If this was NOT you: sign in with your authenticator app or a recovery code, which cancels the ' +
          'recovery, or cancel it on your account page. Then change your password.',
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
    case 'enrollment.started':
    case 'login.succeeded':
    case 'login.failed':
    case 'recovery_codes.revealed':
    case 'account.unlocked':
      return null;
  }
}

function usedFor(context: 'login' | 'disable' | 'regenerate'): string {
  switch (context) {
    case 'login':
      return 'sign in';
    case 'disable':
      return 'turn off two-factor authentication';
    case 'regenerate':
      return 'generate new recovery codes';
  }
}

function cancelledBecause(cause: 'mfa_login' | 'manual' | 'superseded' | 'mfa_disabled' | 'account_locked'): string {
  switch (cause) {
    case 'mfa_login':
      return 'because you signed in with your second factor';
    case 'manual':
      return 'from your account page';
    case 'superseded':
      return 'because a new recovery was requested';
    case 'mfa_disabled':
      return 'because two-factor authentication was turned off';
    case 'account_locked':
      return 'because your account was locked after wrong codes were entered (someone may know your password)';
  }
}
