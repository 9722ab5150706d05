/**
 * Issue 13: on the embedded memory stores a login with an app is decided
 * without waiting for anything — no store round trip, no `await` of a value
 * already at hand — so its promise settles on the first turn of the
 * microtask queue (it took seven before: five `async` layers, each awaiting
 * the next). Only a decision that must wait for a store (a recovery code, a
 * set whose count the record does not keep) or for an `async` `onSuccess`
 * takes more. Whatever verifyLogin refuses before that comes back as a
 * rejection, never as a synchronous throw, as from an `async` function.
 */
import { describe, expect, it } from 'vitest';
import { isMfaError, type MfaService } from '../../src/index.ts';
import { Harness, ok } from './fixtures.ts';

/** Turns of the microtask queue before `promise` settles (either way), counted up to 50. */
async function turnsToSettle(promise: Promise<unknown>): Promise<number> {
  let settled = false;
  const done = promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  let turns = 0;
  while (!settled && turns < 50) {
    await null;
    turns++;
  }
  await done;
  return turns;
}

/** A harness whose service has no `onEvent` (emitting awaits each handler, by design). */
async function enrolled(): Promise<{ h: Harness; mfa: MfaService; secret: string }> {
  const h = new Harness({ onEvent: undefined });
  const { secret } = await h.enroll('alice');
  return { h, mfa: h.mfa, secret };
}

describe('microtask turns of a login on the memory stores (issue 13)', () => {
  it('a valid TOTP code settles on the first turn (the `then` that observes it runs on the second)', async () => {
    const { h, mfa, secret } = await enrolled();
    for (let i = 0; i < 3; i++) {
      const challenge = await h.challenge('alice');
      const login = mfa.verifyLogin(challenge, { totp: h.freshCode(secret) });
      expect(await turnsToSettle(login)).toBeLessThanOrEqual(2);
      expect(ok(await login).method).toBe('totp');
    }
  });

  it('so does a wrong code (a counted failure), a replay, a spent challenge and remembering the browser', async () => {
    const { h, mfa, secret } = await enrolled();
    const challenge = await h.challenge('alice');
    const wrong = mfa.verifyLogin(challenge, { totp: h.wrongCode(secret) });
    expect(await turnsToSettle(wrong)).toBeLessThanOrEqual(2);
    expect(await wrong).toMatchObject({ ok: false, reason: 'invalid_code', attemptsLeft: 4 });

    const code = h.freshCode(secret);
    ok(await mfa.verifyLogin(await h.challenge('alice'), { totp: code }));
    const replay = mfa.verifyLogin(await h.challenge('alice'), { totp: code });
    expect(await turnsToSettle(replay)).toBeLessThanOrEqual(2);
    expect(await replay).toMatchObject({ ok: false, reason: 'replayed' });

    const spentChallenge = await h.challenge('alice');
    ok(await mfa.verifyLogin(spentChallenge, { totp: h.freshCode(secret) }));
    const spent = mfa.verifyLogin(spentChallenge, { totp: h.freshCode(secret) });
    expect(await turnsToSettle(spent)).toBeLessThanOrEqual(2);
    expect(await spent).toEqual({ ok: false, reason: 'challenge_invalid' });

    const remembered = mfa.verifyLogin(await h.challenge('alice'), { totp: h.freshCode(secret) }, { rememberDevice: { label: 'Laptop' } });
    expect(await turnsToSettle(remembered)).toBeLessThanOrEqual(2);
    expect(ok(await remembered).device?.token).toEqual(expect.any(String));
  });

  it('a recovery code still waits for its store (and is consumed exactly once)', async () => {
    const h = new Harness({ onEvent: undefined });
    const { codes } = await h.enroll('alice');
    const login = h.mfa.verifyLogin(await h.challenge('alice'), { recoveryCode: codes[0]! });
    expect(await turnsToSettle(login)).toBeGreaterThan(2);
    expect(ok(await login)).toMatchObject({ method: 'recovery_code', recoveryCodesRemaining: codes.length - 1 });
    expect(await h.login('alice', { recoveryCode: codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('bad options, a failing clock: a rejected promise, never a synchronous throw', async () => {
    const { h, mfa, secret } = await enrolled();
    const challenge = await h.challenge('alice');
    let login: Promise<unknown> | undefined;
    expect(() => {
      login = mfa.verifyLogin(challenge, { totp: h.freshCode(secret) }, { rememberDevice: 'yes' as never });
    }).not.toThrow();
    await expect(login).rejects.toSatisfy((error: unknown) => isMfaError(error) && error.code === 'invalid_argument');

    const broken = h.service({ onEvent: undefined, now: () => Number.NaN });
    expect(() => {
      login = broken.verifyLogin(challenge, { totp: h.freshCode(secret) });
    }).not.toThrow();
    await expect(login).rejects.toSatisfy((error: unknown) => isMfaError(error) && error.code === 'invalid_option');
    // Neither touched the record: the challenge still works.
    ok(await mfa.verifyLogin(challenge, { totp: h.freshCode(secret) }));
  });
});
