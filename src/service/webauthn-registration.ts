/**
 * Adding a security key or passkey: begin (creation options with a fresh
 * challenge, whose hash and expiry the record keeps) and finish (the
 * registration is checked through the plugin, then the key becomes a
 * factor; the first factor enables MFA as confirming an app does). A user
 * who already holds a factor must prove it first, as for an app.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MfaError } from '../errors.ts';
import type { MfaRecord } from '../stores/types.ts';
import { assertUserId, type Decision, type ServiceContext } from './context.ts';
import { addFactor, withAddFactorProof } from './factor-management.ts';
import { checkLabel } from './factors/factor.ts';
import { credentialRefs, webauthnFactorsOf } from './factors/webauthn.ts';
import { activeLock, lockedResult } from './lock.ts';
import { newFactorId, withChanges } from './record.ts';
import { newCodeSet } from './recovery-code-set.ts';
import type { BeginWebAuthnRegistrationResult, FinishWebAuthnRegistrationResult, Proof } from './results.ts';

/** Options of `MfaService.beginWebAuthnRegistration`. */
export interface BeginWebAuthnRegistrationOptions {
  /** The account name the authenticator shows (e.g. the email address), 1..200 characters. */
  userName: string;
  /** A friendlier name; defaults to `userName`. */
  displayName?: string;
  /** The factor's name in `listFactors`; can also be given (or changed) at finish. */
  label?: string;
  /** Required when the user already holds a factor: a step-up grant or a code. */
  proof?: Proof;
}

function checkName(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200 || !value.isWellFormed()) {
    throw new MfaError('invalid_argument', `${name} must be a non-empty string of at most 200 characters`);
  }
  return value;
}

function optionalLabel(value: unknown): string | null {
  if (value === undefined) return null;
  const label = checkLabel(value);
  if (label === null) throw new MfaError('invalid_argument', 'label must be 1 to 64 characters without control characters');
  return label;
}

function hashChallenge(challenge: string): Buffer {
  return createHash('sha256').update(challenge).digest();
}

/** `MfaService.beginWebAuthnRegistration`. */
export async function beginWebAuthnRegistration(
  ctx: ServiceContext,
  userId: string,
  options: BeginWebAuthnRegistrationOptions,
): Promise<BeginWebAuthnRegistrationResult> {
  assertUserId(userId);
  const plugin = ctx.webauthn();
  const given = (options ?? {}) as Partial<Record<keyof BeginWebAuthnRegistrationOptions, unknown>>;
  const userName = checkName(given.userName, 'userName');
  const displayName = given.displayName === undefined ? userName : checkName(given.displayName, 'displayName');
  const label = optionalLabel(given.label);
  const challenge = randomBytes(32).toString('base64url');
  const challengeHash = hashChallenge(challenge).toString('base64url');
  // A random handle, never the user id (WebAuthn §14.6.1): made once, kept in the record.
  const newHandle = randomBytes(32).toString('base64url');

  const start = (record: MfaRecord, now: number): Decision<BeginWebAuthnRegistrationResult> => {
    const expiresAt = now + plugin.timeoutMs;
    const userHandle = record.webauthnUserHandle ?? newHandle;
    return {
      write: withChanges(record, { webauthnUserHandle: userHandle, pendingWebAuthn: { challengeHash, expiresAt, label, factorEpoch: record.factorEpoch } }),
      result: {
        ok: true,
        options: plugin.creationOptions({ challenge, userHandle, userName, displayName, exclude: credentialRefs(record) }),
        expiresAt,
      },
    };
  };
  const refuse = (record: MfaRecord): BeginWebAuthnRegistrationResult | null =>
    webauthnFactorsOf(record).length >= plugin.maxCredentials ? { ok: false, reason: 'limit_reached' } : null;
  return withAddFactorProof<BeginWebAuthnRegistrationResult>(ctx, userId, given.proof as Proof | undefined, refuse, start) as Promise<BeginWebAuthnRegistrationResult>;
}

/** `MfaService.finishWebAuthnRegistration`. */
export async function finishWebAuthnRegistration(
  ctx: ServiceContext,
  userId: string,
  response: unknown,
  options: { label?: string } = {},
): Promise<FinishWebAuthnRegistrationResult> {
  assertUserId(userId);
  const plugin = ctx.webauthn();
  const label = optionalLabel((options as { label?: unknown } | undefined)?.label);
  const challenge = plugin.registrationChallenge(response);
  const hash = challenge === null ? null : hashChallenge(challenge);

  /** Why the pending registration cannot take this response now, or null when it can. */
  const pendingProblem = (record: MfaRecord, now: number): FinishWebAuthnRegistrationResult | null => {
    const lock = activeLock(record, now);
    if (lock) return lockedResult(lock);
    const pending = record.pendingWebAuthn;
    if (pending === null || pending.factorEpoch !== record.factorEpoch) return { ok: false, reason: 'not_registering' };
    if (pending.expiresAt <= now) return { ok: false, reason: 'expired' };
    const stored = Buffer.from(pending.challengeHash, 'base64url');
    if (hash === null || stored.length !== hash.length || !timingSafeEqual(stored, hash)) return { ok: false, reason: 'invalid_response' };
    if (webauthnFactorsOf(record).length >= plugin.maxCredentials) return { ok: false, reason: 'limit_reached' };
    return null;
  };

  // Cheap checks first, so a junk response never reaches the parser without a live ceremony.
  const before = (await ctx.read(userId))?.record;
  if (!before) return { ok: false, reason: 'not_registering' };
  const early = pendingProblem(before, ctx.now());
  if (early !== null) return early;
  const verified = await plugin.verifyRegistration(response, challenge!);
  if (!verified.ok) return { ok: false, reason: 'invalid_response' };

  const set = newCodeSet(ctx);
  const factorId = newFactorId();
  let codes: { hashes: string[]; generation: number } | null = null;
  return ctx.update<FinishWebAuthnRegistrationResult>(userId, (record, now) => {
    const problem = pendingProblem(record, now);
    if (problem !== null) return { write: null, result: problem };
    if (webauthnFactorsOf(record).some((f) => f.credentialId === verified.credentialId)) {
      return { write: null, result: { ok: false, reason: 'already_registered' } };
    }
    const added = addFactor(ctx, userId, withChanges(record, { pendingWebAuthn: null }), {
      id: factorId,
      kind: 'webauthn',
      label: label ?? record.pendingWebAuthn!.label ?? (verified.backupEligible ? 'Passkey' : 'Security key'),
      createdAt: now,
      lastUsedAt: null,
      credentialId: verified.credentialId,
      publicKey: verified.publicKey,
      signCount: verified.signCount,
      // The record holds only objects the service made: never an array a plugin or a caller may still hold.
      transports: [...verified.transports],
      backupEligible: verified.backupEligible,
      backedUp: verified.backedUp,
    }, now, set);
    codes = added.codes;
    return { write: added.write, result: { ok: true, factorId }, events: added.events };
  }, async () => {
    if (codes !== null) await ctx.codes.replace(userId, codes.hashes, codes.generation);
  });
}
