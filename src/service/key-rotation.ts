import { MfaError } from '../errors.ts';
import type { MfaRecord } from '../stores/types.ts';
import { SEAL_CODES, SEAL_TOTP, type ServiceContext } from './context.ts';

/**
 * Key rotation: after a successful proof, whatever is still sealed under a
 * retired key (the TOTP secret, an unrevealed code set) is sealed again
 * under the current one, so the old key can later be dropped.
 */
export function resealUnderCurrentKey(ctx: ServiceContext, record: MfaRecord, userId: string): MfaRecord {
  const ring = ctx.ring;
  const current = ring.currentKeyId;
  let next = record;
  if (record.factors.some((f) => f.kind === 'totp' && ring.keyIdOf(f.secret) !== current)) {
    next = {
      ...next,
      factors: next.factors.map((f) =>
        f.kind === 'totp' && ring.keyIdOf(f.secret) !== current ? { ...f, secret: ring.seal(ring.open(f.secret, userId, SEAL_TOTP), userId, SEAL_TOTP) } : f,
      ),
    };
  }
  if (record.unrevealedCodes !== null && ring.keyIdOf(record.unrevealedCodes) !== current) {
    try {
      next = { ...next, unrevealedCodes: ring.seal(ring.openText(record.unrevealedCodes, userId, SEAL_CODES), userId, SEAL_CODES) };
    } catch (error) {
      // Sealed under a key already dropped: it can never be shown; leave it for regeneration.
      if (!(error instanceof MfaError && error.code === 'seal_invalid')) throw error;
    }
  }
  return next;
}
