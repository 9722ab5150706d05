/**
 * The login flow: `startLogin` after the host's password step (no session
 * yet when MFA is required), `verifyLogin` with the second factor (the host
 * creates the session only on `ok: true`). Challenges are signed and
 * stateless; single use comes from the record (spent ids, epoch).
 */
import { MfaError } from '../errors.ts';
import { openChallenge } from './challenge.ts';
import { assertUserId, type ServiceContext } from './context.ts';
import type { MfaEvent } from './events.ts';
import { cancelOnPossession } from './email-recovery.ts';
import { checkDeviceToken, deviceLabel, newDeviceToken, parseDeviceToken, rememberDevice, rotateDevice } from './devices.ts';
import { activeLock, lockedResult } from './lock.ts';
import { issueChallenge, spendChallenge } from './mfa-challenge.ts';
import { withProof } from './proof.ts';
import { isEnabled, withChanges } from './record.ts';
import type { Proof, StartLoginResult, VerifyLoginResult } from './results.ts';

/** `MfaService.startLogin`. */
export async function startLogin(ctx: ServiceContext, userId: string, options: { deviceToken?: string } = {}): Promise<StartLoginResult> {
  assertUserId(userId);
  const deviceToken = (options as { deviceToken?: unknown } | undefined)?.deviceToken;
  const now = ctx.now();
  const read = await ctx.read(userId);
  const record = read?.record;
  if (!record) return { ok: true, mfaRequired: false };
  const lock = activeLock(record, now);
  // A lock always wins, over a remembered device too.
  if (lock) return { ...lockedResult(lock), mfaRequired: true };
  if (!isEnabled(record)) return { ok: true, mfaRequired: false };
  // Junk: a normal challenge, decided on this read alone.
  const parsed = parseDeviceToken(deviceToken);
  if (parsed === null) return issueChallenge(ctx, userId, record, now, 'login');
  // A device token: accepted and rotated, or the alarm, in one compare-and-set write (starting from this read).
  return ctx.update<StartLoginResult>(userId, (current, at) => {
    const locked = activeLock(current, at);
    if (locked) return { write: null, result: { ...lockedResult(locked), mfaRequired: true } };
    if (!isEnabled(current)) return { write: null, result: { ok: true, mfaRequired: false } };
    const check = checkDeviceToken(ctx, userId, current, parsed, at);
    if (check.kind === 'live') {
      const { token, hash } = newDeviceToken(ctx, userId, check.device.id);
      return {
        write: rotateDevice(current, check.device, hash, at),
        result: { ok: true, mfaRequired: false, rememberedDevice: { id: check.device.id, token, expiresAt: check.device.expiresAt } },
        events: [{ type: 'login.succeeded', userId, at, method: 'remembered_device', deviceId: check.device.id }],
      };
    }
    if (check.kind === 'rotated' && check.alarm) {
      // A token rotated away long ago came back: a copied cookie. The device is forgotten; the owner is told.
      const next = withChanges(current, { devices: current.devices.filter((d) => d.id !== check.device.id) });
      return {
        write: next,
        result: issueChallenge(ctx, userId, next, at, 'login'),
        events: [
          { type: 'device.token_reused', userId, at, deviceId: check.device.id },
          { type: 'device.forgotten', userId, at, deviceId: check.device.id, cause: 'token_reused' },
        ],
      };
    }
    // Rotated within the grace (two tabs, a double submit, a burst), or unknown, expired, foreign: a normal challenge.
    return { write: null, result: issueChallenge(ctx, userId, current, at, 'login') };
  }, undefined, read);
}

/** Options of `MfaService.verifyLogin`. */
export interface VerifyLoginOptions {
  /**
   * Remember this browser: the result carries `device` (its token for a
   * cookie) and the next `startLogin` with it skips the second factor.
   * `false` / `null` / absent: do not (so `checkbox && { label }` works).
   */
  rememberDevice?: { label?: string } | false | null;
}

/**
 * `MfaService.verifyLogin`. Not an `async` function: it hands back
 * withProof's promise itself rather than a second one settled by it (two
 * fewer turns of the microtask queue per login); whatever it throws before
 * that is returned as a rejection, as an `async` function would.
 */
export function verifyLogin(ctx: ServiceContext, challenge: string, proof: Proof, options: VerifyLoginOptions = {}): Promise<VerifyLoginResult> {
  try {
    return checkLogin(ctx, challenge, proof, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

function checkLogin(ctx: ServiceContext, challenge: string, proof: Proof, options: VerifyLoginOptions): Promise<VerifyLoginResult> {
  const remember: unknown = (options as VerifyLoginOptions | undefined)?.rememberDevice;
  // Only an object asks to remember: `rememberDevice: checked && { label }` must never remember a browser when false.
  const asked = remember !== undefined && remember !== null && remember !== false;
  if (asked && (typeof remember !== 'object' || Array.isArray(remember))) {
    throw new MfaError('invalid_argument', 'rememberDevice must be an object ({ label? })');
  }
  const label = asked ? deviceLabel(remember) : null;
  const claims = openChallenge(ctx.ring.hmacKeys('challenge'), challenge, 'login');
  if (claims === null) return Promise.resolve({ ok: false, reason: 'challenge_invalid' });
  if (claims.expiresAt <= ctx.now()) return Promise.resolve({ ok: false, reason: 'challenge_expired' });
  const userId = claims.userId;
  const fresh = asked ? newDeviceToken(ctx, userId) : null;
  return withProof<VerifyLoginResult>(ctx, userId, proof, 'login', claims, {
    // (A method, not an arrow-function property: a build that keeps function names wraps each such arrow in a naming call, once per login.)
    onSuccess(found, now, { method, factorId, remaining }) {
      const events: MfaEvent[] = [];
      let record = found;
      let device: { id: string; token: string; expiresAt: number } | undefined;
      if (fresh !== null) {
        const remembered = rememberDevice(ctx, userId, record, fresh, label, now, events);
        record = remembered.record;
        device = { id: fresh.id, token: fresh.token, expiresAt: remembered.expiresAt };
      }
      const emailRecovery = cancelOnPossession(record, userId, now, 'mfa_login', events);
      const spent = spendChallenge(ctx, record, claims, now);
      // withProof never hands a step-up grant to a login. (Optional fields set, not spread in: see withProof.)
      const result: Extract<VerifyLoginResult, { ok: true }> = { ok: true, userId, method: method as Exclude<typeof method, 'step_up'>, recoveryCodesRemaining: remaining };
      if (factorId !== undefined) result.factorId = factorId;
      if (device !== undefined) result.device = device;
      return {
        write: withChanges(record, { emailRecovery, spentChallenges: spent.spentChallenges, challengeEpoch: spent.challengeEpoch }),
        result,
        events,
      };
    },
  });
}
