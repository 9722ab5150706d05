export type { EmailRecoveryRecord, MfaRecord, RecoveryCodeStore, UserStore, VersionedRecord } from './types.ts';
export { MemoryRecoveryCodeStore, MemoryUserStore } from './memory.ts';
