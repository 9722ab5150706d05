import type { MfaRecord } from '../stores/types.ts';
import { assertUserId, type ServiceContext } from './context.ts';
import { codesNeedRekey, totpUnavailable } from './key-rotation.ts';
import { activeLock } from './lock.ts';
import { methodsOf } from './mfa-challenge.ts';
import { isEnabled } from './record.ts';
import { remainingCodes } from './recovery-code-set.ts';
import type { Attention, StatusResult } from './results.ts';

const DAY = 86_400_000;
/** GitHub's 2FA check-up: enabled this long ago and never used since. */
const CHECKUP_AFTER_MS = 28 * DAY;
/** At or below this many unused codes, `recovery_codes_low`. */
const LOW_CODES = 2;

function attentionOf(ctx: ServiceContext, record: MfaRecord, remaining: number, now: number): Attention[] {
  if (!isEnabled(record)) return [];
  const attention: Attention[] = [];
  if (record.unrevealedCodes !== null) attention.push('recovery_codes_unrevealed');
  else if (remaining <= LOW_CODES) attention.push('recovery_codes_low');
  if (codesNeedRekey(ctx, record, remaining)) attention.push('recovery_codes_rekey');
  if (totpUnavailable(ctx, record)) attention.push('totp_reenroll');
  if (record.factors.length === 1) attention.push('single_factor');
  if (record.enabledAt !== null && now - record.enabledAt > CHECKUP_AFTER_MS && (record.lastMfaAt === null || record.lastMfaAt <= record.enabledAt)) {
    attention.push('checkup_due');
  }
  return attention;
}

/** `MfaService.status`: where the user stands (state, codes left, lock, pending recovery, methods, hints). Holds no secret. */
export async function status(ctx: ServiceContext, userId: string): Promise<StatusResult> {
  assertUserId(userId);
  const now = ctx.now();
  const record = (await ctx.read(userId))?.record;
  if (!record) return { state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] };
  const lock = activeLock(record, now);
  const enabled = isEnabled(record);
  const pendingUntil = Math.max(
    record.pendingTotp !== null && record.pendingTotp.factorEpoch === record.factorEpoch ? record.pendingTotp.expiresAt : 0,
    record.pendingWebAuthn !== null && record.pendingWebAuthn.factorEpoch === record.factorEpoch ? record.pendingWebAuthn.expiresAt : 0,
  );
  const enrolling = !enabled && pendingUntil > now;
  const remaining = enabled ? await remainingCodes(ctx, userId, record) : 0;
  const result: StatusResult = {
    state: lock ? 'locked' : enabled ? 'enabled' : enrolling ? 'enrolling' : 'registered',
    recoveryCodesRemaining: remaining,
    recoveryCodesUnrevealed: enabled && record.unrevealedCodes !== null,
    methods: methodsOf(ctx, record),
    attention: attentionOf(ctx, record, remaining, now),
  };
  if (lock) {
    result.lockedUntil = lock.retryAt;
    result.lockCause = lock.cause;
  }
  if (enrolling) result.enrollmentExpiresAt = pendingUntil;
  const pending = record.emailRecovery;
  if (enabled && pending?.status === 'pending' && pending.expiresAt > now) {
    result.pendingEmailRecovery = { requestedAt: pending.requestedAt, notBefore: pending.notBefore, expiresAt: pending.expiresAt };
  }
  return result;
}
