import { inspect } from 'node:util';
import { ServiceContext } from './context.ts';
import { disable } from './disable.ts';
import { cancelEmailRecovery, completeEmailRecovery, requestEmailRecovery } from './email-recovery.ts';
import { beginEnrollment, confirmEnrollment } from './enrollment.ts';
import { lock, unlock } from './lock.ts';
import { startLogin, verifyLogin } from './login.ts';
import type { MfaServiceOptions } from './options.ts';
import { regenerateRecoveryCodes, revealRecoveryCodes } from './recovery-codes.ts';
import type {
  BeginEnrollmentResult,
  CancelEmailRecoveryResult,
  CompleteEmailRecoveryResult,
  ConfirmEnrollmentResult,
  DisableResult,
  LockCause,
  LockResult,
  Proof,
  RegenerateRecoveryCodesResult,
  RequestEmailRecoveryResult,
  RevealRecoveryCodesResult,
  StartLoginResult,
  StatusResult,
  UnlockResult,
  VerifyLoginResult,
} from './results.ts';
import { status } from './status.ts';

/**
 * TOTP multi-factor authentication with recovery codes, lockout and email
 * recovery, over pluggable atomic stores. Holds every rule of the flow; the
 * stores only persist. Never creates sessions: the host does, only after
 * {@link MfaService.startLogin} says MFA is not required or
 * {@link MfaService.verifyLogin} succeeds.
 *
 * Expected outcomes are `{ ok: false, reason }` values; `MfaError` is thrown
 * for misuse (bad options, a non-string user id) and store failures, which
 * propagate after leaving no partial state.
 *
 * A thin facade: each flow lives in its own file beside this one
 * (enrollment, login, recovery-codes, disable, email-recovery, lock, status;
 * proof checking in proof.ts, the authenticator app in factors/totp.ts).
 */
export class MfaService {
  readonly #ctx: ServiceContext;

  constructor(options: MfaServiceOptions) {
    this.#ctx = new ServiceContext(options);
  }

  /** Where the user stands: state, codes left, lock and pending recovery. */
  status(userId: string): Promise<StatusResult> {
    return status(this.#ctx, userId);
  }

  /**
   * Start (or restart) enrollment: a fresh secret, its otpauth URI and QR
   * code. The secret is pending until {@link confirmEnrollment} proves the
   * app holds it; a pending secret never satisfies a login.
   */
  beginEnrollment(userId: string, options: { accountName: string }): Promise<BeginEnrollmentResult> {
    return beginEnrollment(this.#ctx, userId, options);
  }

  /**
   * Confirm a pending enrollment with the first code from the app. Enables
   * MFA, marks that code's step as used (it cannot be replayed for a login)
   * and creates the first recovery-code set, revealable once. Refused while
   * locked.
   */
  confirmEnrollment(userId: string, code: string): Promise<ConfirmEnrollmentResult> {
    return confirmEnrollment(this.#ctx, userId, code);
  }

  /**
   * Show the current recovery codes exactly once, as an array and as a
   * ready-to-save text file. The sealed plaintext is wiped from the record;
   * a second call gets `already_revealed`. Refused while locked.
   */
  revealRecoveryCodes(userId: string): Promise<RevealRecoveryCodesResult> {
    return revealRecoveryCodes(this.#ctx, userId);
  }

  /**
   * Replace every recovery code with a new set (revealable once), after a
   * valid TOTP or recovery code. Old codes die at once.
   */
  regenerateRecoveryCodes(userId: string, proof: Proof): Promise<RegenerateRecoveryCodesResult> {
    return regenerateRecoveryCodes(this.#ctx, userId, proof);
  }

  /**
   * The host calls this after the password check. `mfaRequired: false`: the
   * host may create the session now. `mfaRequired: true`: no session yet;
   * keep `challenge` server-side and call {@link verifyLogin}. A locked user
   * gets `ok: false` with `mfaRequired: true` too.
   */
  startLogin(userId: string): Promise<StartLoginResult> {
    return startLogin(this.#ctx, userId);
  }

  /**
   * Check the second factor for a challenge from {@link startLogin}. On
   * `ok: true` the host creates the session for `userId` (rotating the
   * session id). The challenge is then spent; a pending email recovery is
   * cancelled, since the real owner just proved possession.
   */
  verifyLogin(challenge: string, proof: Proof): Promise<VerifyLoginResult> {
    return verifyLogin(this.#ctx, challenge, proof);
  }

  /** Turn MFA off after a valid TOTP or recovery code: secret, replay state and codes are gone. */
  disable(userId: string, proof: Proof): Promise<DisableResult> {
    return disable(this.#ctx, userId, proof);
  }

  /**
   * For a user who lost both the app and the codes, after the host's
   * password step. Returns a token for the host to email as a link; it works
   * only after `recovery.emailDelayMs` and before `recovery.emailTtlMs`, and
   * any MFA login in between cancels it. A new request replaces the old one
   * and restarts the wait. Refused while locked.
   */
  requestEmailRecovery(userId: string): Promise<RequestEmailRecoveryResult> {
    return requestEmailRecovery(this.#ctx, userId);
  }

  /**
   * Finish an email recovery with the emailed token, after the waiting
   * period: the second factor is removed (the user is `registered`) and codes
   * are cleared. It never ends a lock: a lock cancels a pending recovery and
   * none can be requested while locked. The host should then let the user
   * sign in with the password and enroll again.
   */
  completeEmailRecovery(userId: string, token: string): Promise<CompleteEmailRecoveryResult> {
    return completeEmailRecovery(this.#ctx, userId, token);
  }

  /** Cancel a pending email recovery (the owner says "this was not me"). */
  cancelEmailRecovery(userId: string): Promise<CancelEmailRecoveryResult> {
    return cancelEmailRecovery(this.#ctx, userId);
  }

  /**
   * Lock the user until {@link unlock} (e.g. support, on a suspected
   * takeover). Every open challenge dies and a pending email recovery is
   * cancelled; while locked no code is evaluated, no factor confirmed, no
   * code revealed and no recovery requested.
   */
  lock(userId: string, options: { reason?: string } = {}): Promise<LockResult> {
    return lock(this.#ctx, userId, options);
  }

  /**
   * End the lock now and reset the failure counters. With `causes`, only a
   * lock with one of those causes ends, decided in the same atomic write: a
   * host whose password reset ends locks made by failures
   * (`causes: ['failures', 'failure_limit']`) can never end support's
   * manual lock, however the two race.
   */
  unlock(userId: string, options: { causes?: readonly LockCause[] } = {}): Promise<UnlockResult> {
    return unlock(this.#ctx, userId, options);
  }

  /** Safe to log: shows no keys or store contents. */
  toJSON(): { issuer: string } {
    return { issuer: this.#ctx.options.issuer };
  }

  [inspect.custom](): string {
    return `MfaService { issuer: ${JSON.stringify(this.#ctx.options.issuer)} }`;
  }
}
