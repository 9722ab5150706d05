/**
 * twofold: TOTP multi-factor authentication and hashed single-use recovery
 * codes for Node.js applications.
 *
 * The main entry holds the service, its stores and results, and the pure
 * building blocks it is made of. The adapter conformance suite lives in
 * `twofold/testing`.
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
export type { MfaEvent, MfaEventType } from './service/events.ts';
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
} from './service/results.ts';

export {
  MemoryUserStore,
  MemoryRecoveryCodeStore,
  type UserStore,
  type RecoveryCodeStore,
  type MfaRecord,
  type VersionedRecord,
  type EmailRecoveryRecord,
} from './stores/index.ts';
