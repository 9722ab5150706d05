/**
 * Security keys and passkeys as second factors: which credential an
 * assertion names, what a refusal means for the record (the lockout, a
 * counter that went back), and the challenge of a login or step-up, which
 * is derived from the signed twofold challenge so it dies with it and no
 * state is kept between `startLogin` and `verifyLogin`.
 */
import type { HmacKey } from '../../seal.ts';
import { createHmac } from 'node:crypto';
import type { MfaRecord, WebAuthnFactorRecord } from '../../stores/types.ts';
import type { ServiceContext } from '../context.ts';
import type { PublicKeyCredentialRequestOptionsJSON } from '../webauthn-json.ts';
import type { EveryField } from '../record.ts';
import type { FactorCheck } from './factor.ts';
import type { WebAuthnCredentialRef } from './webauthn-plugin.ts';

export function webauthnFactorsOf(record: MfaRecord): WebAuthnFactorRecord[] {
  return record.factors.filter((f): f is WebAuthnFactorRecord => f.kind === 'webauthn');
}

export function credentialRefs(record: MfaRecord): WebAuthnCredentialRef[] {
  // A copy: what a host receives never shares an object with the stored record.
  return webauthnFactorsOf(record).map((f) => ({ id: f.credentialId, transports: [...f.transports] }));
}

/** The WebAuthn challenge for a twofold challenge id, under one MAC key. */
function derive(key: HmacKey, challengeId: string): string {
  return createHmac('sha256', key).update(`webauthn-challenge:${challengeId}`).digest('base64url');
}

/** The challenge to put in the request options: derived under the current key. */
export function webauthnChallengeFor(ctx: ServiceContext, challengeId: string): string {
  return derive(ctx.ring.hmacKeys('webauthn-challenge')[0]!, challengeId);
}

/** Every challenge an assertion for `challengeId` may carry (one per key of the ring: a rotation mid-login still works). */
export function acceptedWebAuthnChallenges(ctx: ServiceContext, challengeId: string): string[] {
  return ctx.ring.hmacKeys('webauthn-challenge').map((key) => derive(key, challengeId));
}

/** Request options for a login or step-up of a user holding keys, or undefined when they hold none (or no plugin is set). */
export function requestOptionsFor(ctx: ServiceContext, record: MfaRecord, challengeId: string): PublicKeyCredentialRequestOptionsJSON | undefined {
  const plugin = ctx.options.webauthn;
  const allow = credentialRefs(record);
  if (plugin === null || allow.length === 0) return undefined;
  return plugin.requestOptions({ challenge: webauthnChallengeFor(ctx, challengeId), allow });
}

/**
 * The WebAuthn checks of DESIGN §6.1 (through the plugin: origin, rpId hash,
 * type `webauthn.get`, challenge, user presence and verification, the
 * signature by the stored key, the counter) and what they mean here: a
 * refused assertion is `invalid_credential` and counts towards the lockout;
 * a counter that did not increase is refused and reported
 * (`webauthn.counter_regressed`). `null`: not an assertion at all
 * (malformed, not counted).
 */
export function checkWebAuthn(
  ctx: ServiceContext,
  userId: string,
  record: MfaRecord,
  response: unknown,
  challengeId: string,
  now: number,
): FactorCheck | null {
  const plugin = ctx.webauthn();
  const credentialId = plugin.credentialIdOf(response);
  if (credentialId === null) return null;
  const factor = webauthnFactorsOf(record).find((f) => f.credentialId === credentialId);
  // Unknown here: another user's key, a removed one, or made up.
  if (factor === undefined) return { ok: false, reason: 'invalid_credential', counted: true };
  const checked = plugin.verifyAssertion(response, {
    expectedChallenges: acceptedWebAuthnChallenges(ctx, challengeId),
    credential: { id: factor.credentialId, publicKey: factor.publicKey, signCount: factor.signCount },
  });
  if (!checked.ok) {
    const events = checked.reason === 'counter_regressed' ? [{ type: 'webauthn.counter_regressed' as const, userId, at: now, factorId: factor.id }] : [];
    return { ok: false, reason: 'invalid_credential', counted: true, events };
  }
  const used: EveryField<WebAuthnFactorRecord> = {
    id: factor.id,
    kind: factor.kind,
    label: factor.label,
    createdAt: factor.createdAt,
    lastUsedAt: now,
    credentialId: factor.credentialId,
    publicKey: factor.publicKey,
    signCount: checked.signCount,
    transports: factor.transports,
    backupEligible: factor.backupEligible,
    backedUp: checked.backedUp,
  };
  // (One literal rather than a spread, as copyRecord explains.)
  return { ok: true, factor: used };
}
