import { inspect } from 'node:util';
import { ServiceContext } from './context.ts';
import { disable } from './disable.ts';
import { cancelEmailRecovery, completeEmailRecovery, requestEmailRecovery } from './email-recovery.ts';
import { beginEnrollment, confirmEnrollment, type BeginEnrollmentOptions } from './enrollment.ts';
import { listFactors, removeFactor, renameFactor } from './factor-management.ts';
import { rekey } from './key-rotation.ts';
import { lock, unlock } from './lock.ts';
import { forgetDevice, forgetDevices, listDevices } from './devices.ts';
import { startLogin, verifyLogin, type VerifyLoginOptions } from './login.ts';
import type { MfaServiceOptions } from './options.ts';
import { regenerateRecoveryCodes, revealRecoveryCodes } from './recovery-codes.ts';
import type {
  BeginEnrollmentResult,
  BeginWebAuthnRegistrationResult,
  DeviceInfo,
  ForgetDeviceResult,
  ForgetDevicesResult,
  FinishWebAuthnRegistrationResult,
  ListFactorsResult,
  RemoveFactorResult,
  RenameFactorResult,
  ResetMfaResult,
  StartStepUpResult,
  VerifyStepUpResult,
  CancelEmailRecoveryResult,
  CompleteEmailRecoveryResult,
  ConfirmEnrollmentResult,
  DisableResult,
  LockCause,
  LockResult,
  Proof,
  RegenerateRecoveryCodesResult,
  RekeyResult,
  RequestEmailRecoveryResult,
  RevealRecoveryCodesResult,
  StartLoginResult,
  StatusResult,
  UnlockResult,
  VerifyLoginResult,
} from './results.ts';
import { resetMfa } from './reset.ts';
import { status } from './status.ts';
import { startStepUp, verifyStepUp } from './step-up.ts';
import {
  beginWebAuthnRegistration,
  finishWebAuthnRegistration,
  type BeginWebAuthnRegistrationOptions,
} from './webauthn-registration.ts';

/**
 * Multi-factor authentication (authenticator apps, security keys and
 * passkeys) with recovery codes, lockout, step-up and email recovery, over
 * pluggable atomic stores. Holds every rule of the flow; the
 * stores only persist. Never creates sessions: the host does, only after
 * {@link MfaService.startLogin} says MFA is not required or
 * {@link MfaService.verifyLogin} succeeds.
 *
 * Expected outcomes are `{ ok: false, reason }` values; `MfaError` is thrown
 * for misuse (bad options, a non-string user id) and store failures, which
 * propagate after leaving no partial state.
 *
 * A thin facade: each flow lives in its own file beside this one
 * (enrollment, webauthn-registration, factor-management, login, step-up,
 * recovery-codes, disable, reset, email-recovery, lock, status); proof
 * checking in proof.ts, each factor kind in factors/.
 *
 * @example
 * ```ts
 * import { MemoryRecoveryCodeStore, MemoryUserStore, MfaService } from 'twofold';
 *
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!, // 32+ random bytes: `base64:$(openssl rand -base64 32)`
 *   users: new MemoryUserStore(),
 *   recoveryCodes: new MemoryRecoveryCodeStore(),
 * });
 *
 * // After your password check:
 * const start = await mfa.startLogin(userId);
 * if (!start.mfaRequired) {
 *   // MFA is not enabled: create the session
 * } else if (start.ok) {
 *   const result = await mfa.verifyLogin(start.challenge, { totp: '123456' });
 *   if (result.ok) {
 *     // create the session for result.userId
 *   }
 * }
 * ```
 */
export class MfaService {
  readonly #ctx: ServiceContext;

  /**
   * Validates every option.
   *
   * @throws {MfaError} `invalid_option` naming a bad option (a key string
   * that is not `'hex:…'`, `'base64:…'` or an unambiguous 0.x form among
   * them), `weak_secret_key` for a `secretKey` (or previous key) shorter
   * than 32 bytes.
   */
  constructor(options: MfaServiceOptions) {
    this.#ctx = new ServiceContext(options);
  }

  /** Where the user stands: state, codes left, lock and pending recovery. */
  status(userId: string): Promise<StatusResult> {
    return status(this.#ctx, userId);
  }

  /**
   * Start (or restart) adding an authenticator app: a fresh secret, its
   * otpauth URI and QR code. The secret is pending until
   * {@link confirmEnrollment} proves the app holds it; a pending secret never
   * satisfies a login. A user who already holds a factor passes `proof`
   * (a step-up grant or a code), else `proof_required`.
   */
  beginEnrollment(userId: string, options: BeginEnrollmentOptions): Promise<BeginEnrollmentResult> {
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
   * gets `ok: false` with `mfaRequired: true` too. `deviceToken`: the
   * remembered-browser cookie; a live one skips the second factor and comes
   * back rotated in `rememberedDevice` (set the cookie again).
   */
  startLogin(userId: string, options: { deviceToken?: string } = {}): Promise<StartLoginResult> {
    return startLogin(this.#ctx, userId, options);
  }

  /**
   * Check the second factor for a challenge from {@link startLogin}. On
   * `ok: true` the host creates the session for `userId` (rotating the
   * session id). The challenge is then spent; a pending email recovery is
   * cancelled, since the real owner just proved possession.
   */
  verifyLogin(challenge: string, proof: Proof, options: VerifyLoginOptions = {}): Promise<VerifyLoginResult> {
    return verifyLogin(this.#ctx, challenge, proof, options);
  }

  /** The user's remembered browsers (never a token or its hash). */
  listDevices(userId: string): Promise<DeviceInfo[]> {
    return listDevices(this.#ctx, userId);
  }

  /** Forget one remembered browser: its token stops working. */
  forgetDevice(userId: string, deviceId: string): Promise<ForgetDeviceResult> {
    return forgetDevice(this.#ctx, userId, deviceId);
  }

  /** Forget every remembered browser, e.g. on a password change. */
  forgetDevices(userId: string): Promise<ForgetDevicesResult> {
    return forgetDevices(this.#ctx, userId);
  }

  /** Turn MFA off after a valid proof: every factor, the replay state and the codes are gone. */
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

  /** The user's factors (id, kind, label, dates, WebAuthn transports): never a secret or a key. */
  listFactors(userId: string): Promise<ListFactorsResult> {
    return listFactors(this.#ctx, userId);
  }

  /**
   * Start adding a security key or passkey: creation options for
   * `navigator.credentials.create()`. Needs the `webauthn` plugin. A user who
   * already holds a factor passes `proof`, else `proof_required`.
   */
  beginWebAuthnRegistration(userId: string, options: BeginWebAuthnRegistrationOptions): Promise<BeginWebAuthnRegistrationResult> {
    return beginWebAuthnRegistration(this.#ctx, userId, options);
  }

  /** Finish adding a key with the browser's RegistrationResponseJSON. The first factor enables MFA. */
  finishWebAuthnRegistration(userId: string, response: unknown, options: { label?: string } = {}): Promise<FinishWebAuthnRegistrationResult> {
    return finishWebAuthnRegistration(this.#ctx, userId, response, options);
  }

  /** Rename a factor (the label is shown back to the user). */
  renameFactor(userId: string, factorId: string, label: string): Promise<RenameFactorResult> {
    return renameFactor(this.#ctx, userId, factorId, label);
  }

  /** Remove a factor after a proof (a step-up grant or a code). Removing the last one is {@link disable}. */
  removeFactor(userId: string, factorId: string, proof: Proof): Promise<RemoveFactorResult> {
    return removeFactor(this.#ctx, userId, factorId, proof);
  }

  /**
   * For a signed-in user about to make a sensitive change ("sudo mode"):
   * a challenge like a login's. Answer it with {@link verifyStepUp}.
   */
  startStepUp(userId: string): Promise<StartStepUpResult> {
    return startStepUp(this.#ctx, userId);
  }

  /**
   * Check a fresh second factor for a step-up challenge. On `ok: true`, keep
   * `grant` in the session and pass `{ stepUp: grant }` to disable,
   * regenerate, removeFactor and the add-factor calls until `expiresAt`.
   */
  verifyStepUp(challenge: string, proof: Proof): Promise<VerifyStepUpResult> {
    return verifyStepUp(this.#ctx, challenge, proof);
  }

  /**
   * For support, after verifying the person by other means: every factor,
   * code, pending enrollment and recovery, and every lock are gone.
   * `mfa.reset` carries `actor` and `reason` for the audit log.
   */
  resetMfa(userId: string, options: { actor: string; reason: string }): Promise<ResetMfaResult> {
    return resetMfa(this.#ctx, userId, options);
  }

  /**
   * Key rotation: move the user's record to the current `secretKey` as far
   * as possible without the user (the TOTP secret, a pending enrollment's, a
   * code set not yet revealed are sealed again), and report which old keys
   * it still needs (`dependsOn`) and what only the user can move
   * (`needsUser`: revealed recovery codes to regenerate, an app sealed under
   * a dropped key to re-enroll; both also show in `status().attention`).
   * Needs no proof and changes nothing the user sees. `rekeyAll` of
   * `twofold/maintenance` runs it over every user of a store.
   *
   * @example
   * ```ts
   * const mfa = new MfaService({ ...options, secretKey: NEW_KEY, previousSecretKeys: [OLD_KEY] });
   * const { resealed, dependsOn, needsUser } = await mfa.rekey(userId);
   * // dependsOn: [] once nothing of this user needs OLD_KEY any more
   * ```
   */
  rekey(userId: string): Promise<RekeyResult> {
    return rekey(this.#ctx, userId);
  }

  /** Safe to log: shows no keys or store contents. */
  toJSON(): { issuer: string } {
    return { issuer: this.#ctx.options.issuer };
  }

  /** What `console.log` and `util.inspect` show: the issuer only, like {@link MfaService.toJSON}. */
  [inspect.custom](): string {
    return `MfaService { issuer: ${JSON.stringify(this.#ctx.options.issuer)} }`;
  }
}
