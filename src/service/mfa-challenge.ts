/**
 * The challenge of a login or a step-up, as the service issues and spends
 * it: what the user may answer with (`methods`), the WebAuthn request
 * options derived from it, and the record's single-use bookkeeping.
 */
import type { MfaRecord } from '../stores/types.ts';
import { signChallenge, type ChallengeClaims, type ChallengePurpose } from './challenge.ts';
import type { ServiceContext } from './context.ts';
import { totpFactorOf } from './factors/totp.ts';
import { requestOptionsFor, webauthnFactorsOf } from './factors/webauthn.ts';
import { isEnabled } from './record.ts';
import type { LoginMethod, MfaChallenge } from './results.ts';

/** Spent challenge ids kept per user; past this the epoch moves on and every open challenge dies. */
const MAX_SPENT_CHALLENGES = 256;

/** What a login or step-up of this user may use, strongest first. */
export function methodsOf(ctx: ServiceContext, record: MfaRecord): LoginMethod[] {
  if (!isEnabled(record)) return [];
  const methods: LoginMethod[] = [];
  if (ctx.options.webauthn !== null && webauthnFactorsOf(record).length > 0) methods.push('webauthn');
  if (totpFactorOf(record) !== null) methods.push('totp');
  if (record.recoveryCodeSet !== null) methods.push('recovery_code');
  return methods;
}

/** A signed challenge for an enabled user, with its methods and, when the user has keys, WebAuthn request options. */
export function issueChallenge(ctx: ServiceContext, userId: string, record: MfaRecord, now: number, purpose: ChallengePurpose): MfaChallenge {
  const expiresAt = now + ctx.options.challengeTtlMs;
  const [key] = ctx.ring.hmacKeys('challenge');
  const { challenge, id } = signChallenge(key!, { userId, expiresAt, epoch: record.challengeEpoch }, purpose);
  const result: MfaChallenge = { ok: true, mfaRequired: true, challenge, expiresAt, methods: methodsOf(ctx, record) };
  const webauthn = requestOptionsFor(ctx, record, id);
  if (webauthn !== undefined) result.webauthn = webauthn;
  return result;
}

/**
 * The record's challenge bookkeeping after `claims` succeeded: the id is
 * spent, and kept until `challengeTtlMs` past its expiry. Expiry is read on
 * each server's clock: pruned at expiry on a server whose clock is ahead,
 * the id would be live again on one whose clock is behind. The margin
 * covers clocks up to a challenge lifetime apart.
 */
export function spendChallenge(ctx: ServiceContext, record: MfaRecord, claims: ChallengeClaims, now: number): Pick<MfaRecord, 'spentChallenges' | 'challengeEpoch'> {
  const keepUntil = now - ctx.options.challengeTtlMs;
  const spent: MfaRecord['spentChallenges'] = [];
  for (const c of record.spentChallenges) {
    if (c.expiresAt > keepUntil) spent.push(c);
  }
  if (spent.length >= MAX_SPENT_CHALLENGES) return { spentChallenges: [], challengeEpoch: record.challengeEpoch + 1 };
  // The filtered list is this call's own: the id is added to it, not to a copy of it.
  spent.push({ id: claims.id, expiresAt: claims.expiresAt });
  return { spentChallenges: spent, challengeEpoch: record.challengeEpoch };
}
