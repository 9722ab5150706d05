/**
 * Security keys in service tests: a harness with the WebAuthn plugin, and
 * registering or answering a challenge with a software authenticator
 * (test/webauthn/soft-authenticator.ts) the way a browser would. Each key's
 * signature counter goes up by one per ceremony, as a real key's does.
 */
import { expect } from 'vitest';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { MfaChallenge, Proof, VerifyLoginResult, VerifyStepUpResult } from '../../src/service/results.ts';
import { webauthn, type WebAuthnOptions } from '../../src/webauthn/index.ts';
import type { AuthenticationResponseJSON } from '../../src/webauthn/webauthn-json.ts';
import { SoftAuthenticator, type SoftAlgorithm } from '../webauthn/soft-authenticator.ts';
import { Harness, ok, type ServiceOverrides } from './fixtures.ts';

export const ORIGIN = 'https://example.com';
export const RP = { rpId: 'example.com', rpName: 'Example', origins: [ORIGIN] } as const satisfies WebAuthnOptions;

/** A harness whose service has the WebAuthn plugin for {@link RP} (with `plugin` options over it). */
export function keyHarness(overrides: ServiceOverrides = {}, plugin: Partial<WebAuthnOptions> = {}): Harness {
  return new Harness({ webauthn: webauthn({ ...RP, ...plugin }), ...overrides });
}

/** A new software key (ES256 unless said). */
export function newKey(alg: SoftAlgorithm = 'ES256'): SoftAuthenticator {
  return new SoftAuthenticator(alg);
}

const counters = new WeakMap<SoftAuthenticator, number>();

/** The key's next signature counter (1, 2, 3, ...). */
function nextCounter(key: SoftAuthenticator): number {
  const next = (counters.get(key) ?? 0) + 1;
  counters.set(key, next);
  return next;
}

export interface RegisterKeyOptions {
  /** Needed when the user already holds a factor. */
  proof?: Proof;
  label?: string;
  mfa?: MfaService;
}

/** beginWebAuthnRegistration + finishWebAuthnRegistration with `key` (both must succeed): the new factor's id. */
export async function registerKey(h: Harness, userId: string, key: SoftAuthenticator, options: RegisterKeyOptions = {}): Promise<string> {
  const mfa = options.mfa ?? h.mfa;
  const begun = ok(
    await mfa.beginWebAuthnRegistration(userId, {
      userName: `${userId}@example.com`,
      ...(options.proof === undefined ? {} : { proof: options.proof }),
    }),
  );
  const response = key.register({ challenge: begun.options.challenge, origin: ORIGIN, rpId: RP.rpId, counter: nextCounter(key) });
  const finished = ok(await mfa.finishWebAuthnRegistration(userId, response, options.label === undefined ? {} : { label: options.label }));
  return finished.factorId;
}

/** `key`'s answer to a login or step-up challenge (which must carry WebAuthn request options). */
export function assertionFor(key: SoftAuthenticator, started: MfaChallenge): AuthenticationResponseJSON {
  expect(started.webauthn, 'the challenge carries no WebAuthn request options').toBeDefined();
  return key.assert({ challenge: started.webauthn!.challenge, origin: ORIGIN, rpId: RP.rpId, counter: nextCounter(key) });
}

/** startLogin (which must require MFA) + verifyLogin with `key`. */
export async function loginWithKey(h: Harness, userId: string, key: SoftAuthenticator, mfa: MfaService = h.mfa): Promise<VerifyLoginResult> {
  const started = await mfa.startLogin(userId);
  expect(started, `startLogin: ${JSON.stringify(started)}`).toMatchObject({ ok: true, mfaRequired: true });
  const challenge = started as MfaChallenge;
  return mfa.verifyLogin(challenge.challenge, { webauthn: assertionFor(key, challenge) });
}

/** A step-up challenge (startStepUp must succeed). */
export async function stepUpChallenge(userId: string, mfa: MfaService): Promise<MfaChallenge> {
  const started = await mfa.startStepUp(userId);
  expect(started, `startStepUp: ${JSON.stringify(started)}`).toMatchObject({ ok: true, mfaRequired: true });
  return started as MfaChallenge;
}

/** startStepUp + verifyStepUp with `key`. */
export async function stepUpWithKey(h: Harness, userId: string, key: SoftAuthenticator, mfa: MfaService = h.mfa): Promise<VerifyStepUpResult> {
  const started = await stepUpChallenge(userId, mfa);
  return mfa.verifyStepUp(started.challenge, { webauthn: assertionFor(key, started) });
}

/** startStepUp + verifyStepUp with `proof` (a TOTP or recovery code). */
export async function stepUp(h: Harness, userId: string, proof: Proof, mfa: MfaService = h.mfa): Promise<VerifyStepUpResult> {
  return mfa.verifyStepUp((await stepUpChallenge(userId, mfa)).challenge, proof);
}

/** A live step-up grant for `userId`, answered with the TOTP code of a fresh step. */
export async function grantFor(h: Harness, userId: string, secret: string, mfa: MfaService = h.mfa): Promise<string> {
  return ok(await stepUp(h, userId, { totp: h.freshCode(secret) }, mfa)).grant;
}
