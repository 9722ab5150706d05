/**
 * Security keys (ES256): twofold's assertion check and a WebAuthn
 * verifyLogin over the memory stores, against the raw limit measured in the
 * same run — `crypto.verify('sha256', data, key, signature)` with the P-256
 * key already imported — and against @simplewebauthn/server's
 * `verifyAuthenticationResponse` on the same assertion.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { MemoryRecoveryCodeStore, MemoryUserStore, MfaService } from '../src/index.ts';
import { verifyAssertion, webauthn } from '../src/webauthn/index.ts';
import { SoftAuthenticator } from '../test/webauthn/soft-authenticator.ts';
import { alternatePairs, measureAsync, measureSync, median, printPaired, printTable, type Result } from './harness.ts';

const RP = { rpId: 'example.com', rpName: 'Bench', origins: ['https://example.com'] };
const ORIGIN = 'https://example.com';
const START = 1_764_000_015_000;

const KEY_LOGIN = 'verifyLogin (memory, valid ES256 assertion, fresh challenge)';

/**
 * `users` users with one registered security key each, over the memory
 * stores. `round()` verifies one fresh, valid assertion on a fresh challenge
 * for every user and resolves to the rate (ops/s); the challenges and
 * assertions are made untimed.
 */
async function keyLoginFleet(users: number): Promise<{ round(): Promise<number> }> {
  const clock = { now: START };
  const mfa = new MfaService({
    issuer: 'Bench',
    secretKey: new Uint8Array(32).fill(9),
    users: new MemoryUserStore(),
    recoveryCodes: new MemoryRecoveryCodeStore(),
    webauthn: webauthn(RP),
    now: () => clock.now,
  });
  const fleet: Array<{ id: string; key: SoftAuthenticator; counter: number }> = [];
  for (let i = 0; i < users; i++) {
    const id = `user-${i}`;
    const key = new SoftAuthenticator('ES256');
    const begun = await mfa.beginWebAuthnRegistration(id, { userName: `${id}@example.com` });
    if (!begun.ok) throw new Error(`registration failed: ${begun.reason}`);
    const done = await mfa.finishWebAuthnRegistration(id, key.register({ challenge: begun.options.challenge, origin: ORIGIN, rpId: RP.rpId, counter: 0 }));
    if (!done.ok) throw new Error(`registration failed: ${done.reason}`);
    fleet.push({ id, key, counter: 0 });
  }
  return {
    async round() {
      const work: Array<{ challenge: string; response: unknown }> = [];
      for (const user of fleet) {
        const start = await mfa.startLogin(user.id);
        if (!start.ok || !start.mfaRequired || !start.webauthn) throw new Error('startLogin offered no key');
        user.counter += 1;
        work.push({ challenge: start.challenge, response: user.key.assert({ challenge: start.webauthn.challenge, origin: ORIGIN, rpId: RP.rpId, counter: user.counter }) });
      }
      const t0 = performance.now();
      for (const item of work) {
        const result = await mfa.verifyLogin(item.challenge, { webauthn: item.response as never });
        if (!result.ok) throw new Error(`verifyLogin failed: ${result.reason}`);
      }
      return (work.length * 1000) / (performance.now() - t0);
    },
  };
}

/** The median rate of `rounds` rounds of {@link keyLoginFleet}, after one warm-up round. */
async function measureKeyLogin(fleet: { round(): Promise<number> }, rounds = 7): Promise<Result> {
  await fleet.round();
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) rates.push(await fleet.round());
  const opsPerSec = median(rates);
  return { name: KEY_LOGIN, opsPerSec, medianUs: 1e6 / opsPerSec };
}

export async function benchWebAuthn(): Promise<void> {
  const key = new SoftAuthenticator('ES256');
  const challenge = createHash('sha256').update('bench').digest('base64url');
  const registration = key.register({ challenge, origin: ORIGIN, rpId: RP.rpId, counter: 0 });
  const plugin = webauthn(RP);
  const registered = await plugin.verifyRegistration(registration, challenge);
  if (!registered.ok) throw new Error('registration refused');
  const credential = { id: registered.credentialId, publicKey: registered.publicKey, signCount: 0 };
  const response = key.assert({ challenge, origin: ORIGIN, rpId: RP.rpId, counter: 1 });

  // The raw limit: the one ECDSA verification an assertion needs, key imported once.
  const authData = Buffer.from(response.response.authenticatorData, 'base64url');
  const clientData = Buffer.from(response.response.clientDataJSON, 'base64url');
  const data = Buffer.concat([authData, createHash('sha256').update(clientData).digest()]);
  const signature = Buffer.from(response.response.signature, 'base64url');
  const spki = createPublicKey({ key: key.publicKey.export({ format: 'der', type: 'spki' }), format: 'der', type: 'spki' });
  if (!verify('sha256', data, spki, signature)) throw new Error('raw verify refused');
  const raw = measureSync('raw crypto.verify (P-256, key imported)', () => verify('sha256', data, spki, signature));

  const ours = measureSync('twofold verifyAssertion (ES256)', () => {
    const result = verifyAssertion({ ...RP, userVerification: 'preferred', expectedChallenge: challenge, response, credential });
    if (!result.ok) throw new Error('assertion refused');
    return result;
  });
  const theirs = await measureAsync('@simplewebauthn/server verifyAuthenticationResponse', async () => {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP.rpId,
      credential: { id: credential.id, publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')), counter: 0 },
      requireUserVerification: false,
    });
    if (!result.verified) throw new Error('refused by @simplewebauthn/server');
    return result;
  });
  const fleet = await keyLoginFleet(1_000);
  const login = await measureKeyLogin(fleet);
  printTable('Security keys (WebAuthn, ES256)', [
    { result: raw },
    { result: ours, baseline: raw, target: '≥ 0.6×' },
    { result: theirs, baseline: raw },
    { result: login, baseline: raw },
  ]);
  console.log(`\ntwofold's assertion check is ${(ours.opsPerSec / theirs.opsPerSec).toFixed(1)}× @simplewebauthn/server's on the same assertion.`);
  // The target in pairs, as for the TOTP login: a round of key logins and a slice of raw verifications of
  // about the same length right next to it, in alternating order; the median of the per-pair ratios.
  const rawName = 'raw crypto.verify (P-256, key imported)';
  const paired = await alternatePairs(
    rawName,
    () => measureSync(rawName, () => verify('sha256', data, spki, signature), { rounds: 1, roundMs: 150 }).opsPerSec,
    KEY_LOGIN,
    () => fleet.round(),
    Number(process.env.BENCH_PAIRS_ASYNC ?? 15),
  );
  printPaired('Security-key login against the raw verification, paired rounds (the target)', [{ paired, target: '≥ 0.4×' }]);
}
