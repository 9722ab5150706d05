/**
 * twofold: TOTP multi-factor authentication and hashed single-use recovery
 * codes for Node.js applications.
 *
 * The main entry holds the service, its stores and results, and the pure
 * building blocks it is made of. The adapter conformance suite lives in
 * `twofold/testing`.
 *
 * @example
 * ```ts
 * import { MfaService, MemoryUserStore, MemoryRecoveryCodeStore } from 'twofold';
 *
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!, // 32+ random bytes, 'hex:…' or 'base64:…'
 *   users: new MemoryUserStore(),
 *   recoveryCodes: new MemoryRecoveryCodeStore(),
 * });
 * ```
 *
 * @module twofold
 */
export { MfaError, isMfaError, type MfaErrorCode } from './errors.ts';

export {
  generateSecret,
  generateTotp,
  verifyTotp,
  buildOtpauthUri,
  parseOtpauthUri,
  type TotpAlgorithm,
  type TotpDigits,
  type TotpOptions,
  type TotpWindow,
  type OtpauthUriOptions,
  type ParsedOtpauthUri,
} from './otp/index.ts';

export { renderQr, type QrFormat, type RenderQrOptions } from './qr.ts';

export {
  generateRecoveryCodes,
  normalizeRecoveryCode,
  hashRecoveryCode,
  formatRecoveryCodesText,
  recoveryCodesFilename,
  type RecoveryCodesTextInput,
} from './recovery-codes.ts';

export { MfaService } from './service/mfa-service.ts';
export type { MfaServiceOptions } from './service/options.ts';
export type { MfaEvent, MfaEventType, ProofContext, DeviceForgottenCause } from './service/events.ts';
export type { VerifyLoginOptions } from './service/login.ts';
export type { BeginEnrollmentOptions } from './service/enrollment.ts';
export type { BeginWebAuthnRegistrationOptions } from './service/webauthn-registration.ts';
export type { WebAuthnPlugin, WebAuthnRegistration, WebAuthnAssertionCheck, WebAuthnCredentialRef } from './service/factors/webauthn-plugin.ts';
export type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialDescriptorJSON,
  PublicKeyCredentialHint,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  UserVerificationRequirement,
} from './service/webauthn-json.ts';
export type {
  Proof,
  ProofMethod,
  ProofFailure,
  MfaState,
  Failure,
  LockedFailure,
  LockCause,
  ProofFailureResult,
  StatusResult,
  BeginEnrollmentResult,
  BeginEnrollmentSuccess,
  ConfirmEnrollmentResult,
  RevealRecoveryCodesResult,
  RegenerateRecoveryCodesResult,
  StartLoginResult,
  VerifyLoginResult,
  DisableResult,
  RequestEmailRecoveryResult,
  CompleteEmailRecoveryResult,
  CancelEmailRecoveryResult,
  LockResult,
  UnlockResult,
  FactorKind,
  FactorInfo,
  DeviceInfo,
  RememberedDevice,
  ForgetDeviceResult,
  ForgetDevicesResult,
  LoginMethod,
  Attention,
  MfaChallenge,
  StartStepUpResult,
  VerifyStepUpResult,
  ListFactorsResult,
  BeginWebAuthnRegistrationResult,
  FinishWebAuthnRegistrationResult,
  RenameFactorResult,
  RemoveFactorResult,
  ResetMfaResult,
  RekeyResult,
  RekeyNeed,
} from './service/results.ts';

export {
  MemoryUserStore,
  MemoryRecoveryCodeStore,
  type UserStore,
  type UserScanPage,
  type RecoveryCodeStore,
  type MfaRecord,
  type MfaRecordV1,
  type StoredMfaRecord,
  type FactorRecord,
  type TotpFactorRecord,
  type WebAuthnFactorRecord,
  type PendingTotpRecord,
  type PendingWebAuthnRecord,
  type VersionedRecord,
  type EmailRecoveryRecord,
  type DeviceRecord,
} from './stores/index.ts';
