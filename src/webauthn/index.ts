/**
 * `twofold/webauthn`: security keys and passkeys as second factors.
 *
 * ```ts
 * import { webauthn } from 'twofold/webauthn';
 * const mfa = new MfaService({ ..., webauthn: webauthn({ rpId: 'example.com', rpName: 'Example App', origins: ['https://example.com'] }) });
 * ```
 *
 * Registration is checked through `@simplewebauthn/server` (an optional
 * peer dependency, loaded on the first registration only); the assertion of
 * a login or step-up, the hot path, is twofold's own check over
 * `node:crypto`, cross-checked decision by decision against
 * @simplewebauthn/server in the tests. A TOTP-only application never loads
 * this entry.
 *
 * {@link verifyAssertion}, {@link verifyRegistration} and
 * {@link deriveWebAuthnChallenge} are the plugin's building blocks, exported
 * for hosts that run their own WebAuthn ceremonies.
 *
 * @module twofold/webauthn
 */
import { MfaError } from '../errors.ts';
import type { WebAuthnAssertionCheck, WebAuthnPlugin, WebAuthnRegistration } from '../service/factors/webauthn-plugin.ts';
import type { UserVerificationRequirement } from '../service/webauthn-json.ts';
import { assertionCredentialId, verifyAssertion } from './assertion.ts';
import { clientDataChallenge } from './client-data.ts';
import { buildCreationOptions, buildRequestOptions } from './options.ts';
import { verifyRegistration } from './registration.ts';

export { verifyAssertion, assertionCredentialId, type AssertionResult, type AssertionFailure, type StoredCredential } from './assertion.ts';
export { verifyRegistration, type RegistrationResult, type RegistrationFailure } from './registration.ts';
export { deriveWebAuthnChallenge } from './challenge.ts';
export type { WebAuthnPlugin } from '../service/factors/webauthn-plugin.ts';

/** Options of {@link webauthn}. */
export interface WebAuthnOptions {
  /** The relying party id: your registrable domain (`example.com`), or `localhost` in development. Keys are bound to it. */
  rpId: string;
  /** Shown by the browser and the authenticator (`Example App`). */
  rpName: string;
  /** Exact origins the ceremonies may run on (`https://example.com`); `http:` only for localhost. */
  origins: readonly string[];
  /** `'required'` refuses keys that did not verify the user (PIN, biometrics). Default `'preferred'`. */
  userVerification?: UserVerificationRequirement;
  /** Keys a user may hold, 1..100. Default 10. */
  maxCredentials?: number;
  /** How long a ceremony may take in the browser, and a registration stays open. Default 5 min, 10 s..30 min. */
  timeoutMs?: number;
}

const RP_ID = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function fail(option: string, expected: string): never {
  throw new MfaError('invalid_option', `webauthn option \`${option}\` must be ${expected}`);
}

function checkOrigins(origins: unknown, rpId: string): string[] {
  if (!Array.isArray(origins) || origins.length === 0 || origins.length > 32) fail('origins', 'a non-empty array of at most 32 origins');
  return origins.map((origin: unknown) => {
    if (typeof origin !== 'string') fail('origins', 'strings');
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      fail('origins', `absolute origins (got ${JSON.stringify(origin)})`);
    }
    if (url.origin !== origin) fail('origins', `bare origins without path or trailing slash (got ${JSON.stringify(origin)}, use ${JSON.stringify(url.origin)})`);
    const local = url.hostname === 'localhost' || url.hostname.endsWith('.localhost');
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) fail('origins', 'https: origins (http: only for localhost)');
    // The RP ID must be the origin's host or a registrable suffix of it (WebAuthn §5.1.4; browsers enforce it too).
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) fail('origins', `on ${rpId} or a subdomain of it (got ${origin})`);
    return origin;
  });
}

function integer(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(option, `an integer from ${min} to ${max}`);
  return value;
}

/**
 * The WebAuthn factor plugin for `new MfaService({ webauthn })`: attestation
 * `none`, ES256 / EdDSA / RS256 keys, used as a second factor (the user is
 * known from the password step, so the request options name their keys).
 *
 * @throws {MfaError} `invalid_option` naming a bad option.
 *
 * @example
 * ```ts
 * import { MfaService, MemoryRecoveryCodeStore, MemoryUserStore } from 'twofold';
 * import { webauthn } from 'twofold/webauthn';
 *
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new MemoryUserStore(),
 *   recoveryCodes: new MemoryRecoveryCodeStore(),
 *   webauthn: webauthn({ rpId: 'example.com', rpName: 'Example App', origins: ['https://example.com'] }),
 * });
 * ```
 */
export function webauthn(options: WebAuthnOptions): WebAuthnPlugin {
  if (typeof options !== 'object' || options === null) fail('options', 'an object');
  const { rpId, rpName } = options;
  if (typeof rpId !== 'string' || !RP_ID.test(rpId)) fail('rpId', 'a lowercase domain name such as example.com (no scheme, port or path)');
  if (typeof rpName !== 'string' || rpName.trim() === '' || rpName.length > 200) fail('rpName', 'a non-empty string of at most 200 characters');
  const origins = checkOrigins(options.origins, rpId);
  const userVerification = options.userVerification ?? 'preferred';
  if (userVerification !== 'required' && userVerification !== 'preferred' && userVerification !== 'discouraged') {
    fail('userVerification', "'required', 'preferred' or 'discouraged'");
  }
  const maxCredentials = integer(options.maxCredentials, 'maxCredentials', 10, 1, 100);
  const timeoutMs = integer(options.timeoutMs, 'timeoutMs', 5 * 60_000, 10_000, 30 * 60_000);
  const expectations = { origins, rpId, userVerification };

  return Object.freeze({
    plugin: 'twofold/webauthn' as const,
    rpId,
    userVerification,
    maxCredentials,
    timeoutMs,
    creationOptions: ({ challenge, userHandle, userName, displayName, exclude }) =>
      buildCreationOptions({ rpId, rpName, userHandle, userName, displayName, challenge, timeoutMs, excludeCredentials: exclude, userVerification }),
    requestOptions: ({ challenge, allow }) => buildRequestOptions({ rpId, challenge, timeoutMs, allowCredentials: allow, userVerification }),
    registrationChallenge: (response: unknown) => clientDataChallenge(response),
    async verifyRegistration(response: unknown, expectedChallenge: string): Promise<WebAuthnRegistration | { ok: false }> {
      const result = await verifyRegistration({ ...expectations, expectedChallenge, response });
      if (!result.ok) return { ok: false };
      const { credentialId, publicKey, signCount, transports, backupEligible, backedUp } = result;
      return { ok: true, credentialId, publicKey, signCount, transports, backupEligible, backedUp };
    },
    credentialIdOf: (response: unknown) => assertionCredentialId(response),
    verifyAssertion(response, { expectedChallenges, credential }): WebAuthnAssertionCheck {
      const result = verifyAssertion({ ...expectations, expectedChallenge: expectedChallenges, response, credential });
      if (result.ok) return { ok: true, signCount: result.signCount, backedUp: result.backedUp };
      return { ok: false, reason: result.reason };
    },
  } satisfies WebAuthnPlugin);
}
