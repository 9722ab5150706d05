export type {
  DeviceRecord,
  EmailRecoveryRecord,
  FactorRecord,
  MfaRecord,
  MfaRecordV1,
  PendingTotpRecord,
  PendingWebAuthnRecord,
  RecoveryCodeStore,
  StoredMfaRecord,
  TotpFactorRecord,
  UserScanPage,
  UserStore,
  VersionedRecord,
  WebAuthnFactorRecord,
} from './types.ts';
export { MemoryRecoveryCodeStore, MemoryUserStore } from './memory.ts';
