/**
 * Security keys and passkeys: this host as a WebAuthn relying party.
 *
 * The relying party is the public URL (PUBLIC_URL, links.ts), never the
 * request's Host header: `rpId` is its hostname and `origins` is exactly
 * `[its origin]`, so an assertion made for any other site (a phishing copy
 * of this one) is refused by twofold. Keys are bound to the rpId: keys
 * registered under `localhost` work only on localhost.
 *
 * Browsers allow WebAuthn only in a secure context: https, or http on
 * localhost. A public URL such as `http://demo.example.test` gets no
 * security keys (the pages then offer only the authenticator app).
 *
 * Without PUBLIC_URL the origin is `http://localhost:<port>`, and with
 * PORT=0 the port is known only once the server listens, after the
 * MfaService was built; {@link relyingParty} then binds the origin late.
 */
import { webauthn, type WebAuthnPlugin } from 'twofold/webauthn';
import type { PublicOrigin } from './links.ts';

/** Whether browsers offer WebAuthn on `origin`: https, or http on localhost. */
export function keysPossibleOn(origin: string): boolean {
  const url = new URL(origin);
  const local = url.hostname === 'localhost' || url.hostname.endsWith('.localhost');
  return url.protocol === 'https:' || (url.protocol === 'http:' && local);
}

/**
 * The `webauthn` option of the MfaService: rpId = hostname of the public
 * URL, origins = [its origin]; null when that origin cannot use security keys.
 */
export function relyingParty(origin: PublicOrigin, rpName: string): WebAuthnPlugin | null {
  const make = (at: string): WebAuthnPlugin => webauthn({ rpId: new URL(at).hostname, rpName, origins: [at] });
  if (origin.configured !== undefined) return keysPossibleOn(origin.configured) ? make(origin.configured) : null;
  // http://localhost:<port>, the port still unknown: rpId `localhost` is
  // enough for the options; the two checks take the origin once it is known
  // (origin.origin throws before ExampleApp.listen, as emailed links do).
  const template = make('http://localhost');
  let bound: { at: string; plugin: WebAuthnPlugin } | undefined;
  const current = (): WebAuthnPlugin => {
    const at = origin.origin;
    if (bound?.at !== at) bound = { at, plugin: make(at) };
    return bound.plugin;
  };
  return Object.freeze({
    ...template,
    verifyRegistration: (response, expectedChallenge) => current().verifyRegistration(response, expectedChallenge),
    verifyAssertion: (response, input) => current().verifyAssertion(response, input),
  } satisfies WebAuthnPlugin);
}
