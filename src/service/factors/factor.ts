import type { FactorRecord } from '../../stores/types.ts';
import type { MfaEvent } from '../events.ts';
import type { FactorInfo } from '../results.ts';

/**
 * What checking one proof against a user's factors of one kind gave: the
 * factor as it is after the success (replay state, counter, last use), or
 * a refusal that the lockout counts or (a double submit) does not.
 */
export type FactorCheck =
  | { ok: true; factor: FactorRecord }
  | {
      ok: false;
      reason: 'invalid_code' | 'replayed' | 'invalid_credential';
      /** Whether the refusal counts towards the lockout. */
      counted: boolean;
      /** Events the refusal reports besides `login.failed` (e.g. a counter that went back). */
      events?: MfaEvent[];
    };

/** A factor as its owner sees it: never a secret or a key. */
export function describeFactor(factor: FactorRecord): FactorInfo {
  const info: FactorInfo = { id: factor.id, kind: factor.kind, label: factor.label, createdAt: factor.createdAt, lastUsedAt: factor.lastUsedAt };
  if (factor.kind === 'webauthn') {
    info.transports = [...factor.transports];
    info.backedUp = factor.backedUp;
  }
  return info;
}

/** The record's factors with `next` in place of the factor of the same id. */
export function replaceFactor(factors: readonly FactorRecord[], next: FactorRecord): FactorRecord[] {
  const replaced: FactorRecord[] = [];
  for (const f of factors) replaced.push(f.id === next.id ? next : f);
  return replaced;
}

/** Labels are shown back to the user: 1..64 characters, well-formed, no control characters. */
export function checkLabel(label: unknown): string | null {
  if (typeof label !== 'string') return null;
  const trimmed = label.trim();
  // eslint-disable-next-line no-control-regex
  if (trimmed.length === 0 || trimmed.length > 64 || !trimmed.isWellFormed() || /[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) return null;
  return trimmed;
}
