/**
 * Security keys for the WebAuthn service tests (webauthn.test.ts,
 * webauthn-input.test.ts): the relying party the services are configured
 * with, a software key that reports its own signature counter, and the
 * steps of a ceremony (register, a login or step-up challenge with its
 * request options, the assertion that answers it). Built on
 * test/webauthn/soft-authenticator.ts, which has a knob for every field.
 */
import { expect } from 'vitest';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { Proof } from '../../src/service/results.ts';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '../../src/service/webauthn-json.ts';
import type { WebAuthnFactorRecord } from '../../src/stores/index.ts';
import { webauthn, type WebAuthnOptions } from '../../src/webauthn/index.ts';
import { SoftAuthenticator, type AssertKnobs, type RegisterKnobs, type SoftAlgorithm } from '../webauthn/soft-authenticator.ts';
import { ok, type Harness } from './fixtures.ts';

export const RP_ID = 'example.com';
export const ORIGIN = 'https://example.com';
export const RP = { rpId: RP_ID, rpName: 'Example App', origins: [ORIGIN] } as const satisfies WebAuthnOptions;

/** The WebAuthn plugin for `new Harness({ webauthn: plugin() })`: {@link RP} with `overrides`. */
export function plugin(overrides: Partial<WebAuthnOptions> = {}) {
  return webauthn({ ...RP, ...overrides });
}

/**
 * A security key on {@link ORIGIN}: reports `counter` at registration and
 * one more on each assertion, or always 0 when `counting` is false (as many
 * passkeys do).
 */
export class Key {
  readonly auth: SoftAuthenticator;
  readonly counting: boolean;
  counter: number;

  constructor(alg: SoftAlgorithm = 'ES256', options: { counting?: boolean; counter?: number; rsaBits?: number } = {}) {
    this.auth = new SoftAuthenticator(alg, options.rsaBits === undefined ? {} : { rsaBits: options.rsaBits });
    this.counting = options.counting ?? true;
    this.counter = this.counting ? (options.counter ?? 1) : 0;
  }

  /** base64url credential id. */
  get id(): string {
    return this.auth.id;
  }

  /** A registration response for the creation options' `challenge`; knobs override any field. */
  registration(challenge: string, knobs: Partial<RegisterKnobs> = {}): RegistrationResponseJSON {
    return this.auth.register({ challenge, origin: ORIGIN, rpId: RP_ID, counter: this.counter, ...knobs }) as RegistrationResponseJSON;
  }

  /** An assertion for the request options' `challenge` (the counter moves on first); knobs override any field. */
  assertion(challenge: string, knobs: Partial<AssertKnobs> = {}): AuthenticationResponseJSON {
    if (this.counting) this.counter += 1;
    return this.auth.assert({ challenge, origin: ORIGIN, rpId: RP_ID, counter: this.counter, ...knobs }) as AuthenticationResponseJSON;
  }
}

/** begin + finish: `key` becomes a factor of `userId` (`proof` when the user already holds one); the factor id. */
export async function registerKey(h: Harness, userId: string, key: Key, options: { proof?: Proof; mfa?: MfaService } = {}): Promise<string> {
  const mfa = options.mfa ?? h.mfa;
  const proof = options.proof === undefined ? {} : { proof: options.proof };
  const begun = ok(await mfa.beginWebAuthnRegistration(userId, { userName: `${userId}@example.com`, ...proof }));
  return ok(await mfa.finishWebAuthnRegistration(userId, key.registration(begun.options.challenge))).factorId;
}

/** A login or step-up challenge of a user holding keys, with its request options. */
export interface KeyChallenge {
  challenge: string;
  options: PublicKeyCredentialRequestOptionsJSON;
  /** `options.challenge`: what an assertion must be made for. */
  webauthnChallenge: string;
}

export async function keyChallenge(h: Harness, userId: string, purpose: 'login' | 'step_up' = 'login', mfa: MfaService = h.mfa): Promise<KeyChallenge> {
  const started = purpose === 'login' ? await mfa.startLogin(userId) : await mfa.startStepUp(userId);
  expect(started, `${purpose}: ${JSON.stringify(started)}`).toMatchObject({ ok: true, mfaRequired: true, webauthn: { challenge: expect.any(String) } });
  const { challenge, webauthn: options } = started as { challenge: string; webauthn: PublicKeyCredentialRequestOptionsJSON };
  return { challenge, options, webauthnChallenge: options.challenge };
}

/** A step-up grant won with `key`. */
export async function grantWith(h: Harness, userId: string, key: Key): Promise<string> {
  const { challenge, webauthnChallenge } = await keyChallenge(h, userId, 'step_up');
  return ok(await h.mfa.verifyStepUp(challenge, { webauthn: key.assertion(webauthnChallenge) })).grant;
}

/** The stored factor of `key`. */
export async function keyFactor(h: Harness, userId: string, key: Key): Promise<WebAuthnFactorRecord> {
  const record = await h.record(userId);
  const factor = record?.factors.find((f): f is WebAuthnFactorRecord => f.kind === 'webauthn' && f.credentialId === key.id);
  expect(factor, `no factor for key ${key.id}`).toBeDefined();
  return factor!;
}

/** base64url `text` respelled in the standard alphabet, with `=` padding (at least one `=`). */
export function standardBase64(text: string): string {
  return padded(Buffer.from(text, 'base64url').toString('base64').replace(/=+$/, ''));
}

/** `text` with `=` padding (at least one `=`): never base64url. */
export function padded(text: string): string {
  return text + ('='.repeat((4 - (text.length % 4)) % 4) || '====');
}

/** A base64url field cut to about half, still decodable (a multiple of 4 characters). */
export function halved(text: string): string {
  return text.slice(0, Math.max(4, Math.floor(text.length / 8) * 4));
}

export const TEN_MB = 10 * 1024 * 1024;
