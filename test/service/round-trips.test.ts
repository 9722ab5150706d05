/**
 * Issue 13: a successful TOTP (or security-key) login costs exactly two
 * sequential store round trips — the record read, then the compare-and-set
 * write — like the raw loop a hand-written login would run. The unused-code
 * count it reports comes from the record (`recoveryCodesUnused`, noted when
 * a set is made, at the reveal and at every recovery-code success), not from
 * a third call or from opening the sealed codes of a set not yet revealed.
 * Every store method of the SQL and Redis adapters is one round trip, so
 * this counts them for every adapter. A "wave" is a group of store calls in
 * flight together: a call that starts after every earlier call has finished
 * opens a new wave.
 */
import { describe, expect, it } from 'vitest';
import type { MfaRecord, RecoveryCodeStore, UserStore } from '../../src/stores/types.ts';
import { Harness, ok } from './fixtures.ts';

class Waves {
  waves = 0;
  calls: string[] = [];
  #inFlight = 0;
  wrap<T extends object>(store: T, name: string): T {
    return new Proxy(store, {
      get: (target, method, receiver) => {
        const value = Reflect.get(target, method, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (this.#inFlight === 0) this.waves++;
          this.#inFlight++;
          this.calls.push(`${name}.${String(method)}`);
          try {
            // A real round trip: the reply comes on a later turn of the event loop.
            await new Promise((resolve) => setTimeout(resolve, 2));
            return await (value as (...a: unknown[]) => unknown).apply(target, args);
          } finally {
            this.#inFlight--;
          }
        };
      },
    });
  }
  reset(): void {
    this.waves = 0;
    this.calls = [];
  }
}

function counted() {
  const waves = new Waves();
  const plain = new Harness();
  const users: UserStore = waves.wrap(plain.users, 'users');
  const codes: RecoveryCodeStore = waves.wrap(plain.codes, 'codes');
  const h = new Harness({}, { users: users as never, codes: codes as never, clock: plain.clock });
  return { waves, h, plain };
}

/** Rewrites the user's stored record as a version before `recoveryCodesUnused` wrote it: the same record without that field. */
async function dropNotedCount(users: UserStore, userId: string): Promise<{ noted: MfaRecord['recoveryCodesUnused']; record: MfaRecord }> {
  const stored = (await users.get(userId))!;
  const { recoveryCodesUnused: noted, ...older } = stored.record as MfaRecord;
  expect(await users.put(userId, older as MfaRecord, stored.version)).toBe(true);
  return { noted, record: stored.record as MfaRecord };
}

describe('store round trips of a login (issue 13)', () => {
  it('a successful TOTP verifyLogin is two store calls in two round trips: the read and the write', async () => {
    const { waves, h } = counted();
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    const code = h.freshCode(u.secret);
    waves.reset();
    const result = ok(await h.mfa.verifyLogin(challenge, { totp: code }));
    expect(waves.calls).toEqual(['users.get', 'users.put']);
    expect(waves.waves).toBe(2);
    expect(result.recoveryCodesRemaining).toBe(10);
  });

  it('reports what the store holds after recovery codes were used, still in two calls', async () => {
    const { waves, h, plain } = counted();
    const u = await h.enroll('alice');
    ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    ok(await h.login('alice', { recoveryCode: u.codes[1]! }));
    const challenge = await h.challenge('alice');
    const code = h.freshCode(u.secret);
    waves.reset();
    const result = ok(await h.mfa.verifyLogin(challenge, { totp: code }));
    expect(waves.calls).toEqual(['users.get', 'users.put']);
    expect(result.recoveryCodesRemaining).toBe(8);
    expect(await plain.codes.countUnused('alice')).toBe(8);
    expect((await h.mfa.status('alice')).recoveryCodesRemaining).toBe(8);
  });

  it('a count noted for an older set is never used: a new set reports its own codes', async () => {
    const { waves, h } = counted();
    const u = await h.enroll('alice');
    ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) }));
    // Not yet revealed: the count noted with the new set (no store call either).
    let challenge = await h.challenge('alice');
    let code = h.freshCode(u.secret);
    waves.reset();
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: code })).recoveryCodesRemaining).toBe(10);
    expect(waves.calls).toEqual(['users.get', 'users.put']);
    const revealed = ok(await h.mfa.revealRecoveryCodes('alice'));
    ok(await h.login('alice', { recoveryCode: revealed.codes[3]! }));
    challenge = await h.challenge('alice');
    code = h.freshCode(u.secret);
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: code })).recoveryCodesRemaining).toBe(9);
  });

  it('a record written before the count existed asks the store once, then keeps the count', async () => {
    const { waves, h, plain } = counted();
    const u = await h.enroll('alice');
    ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    // As an earlier version wrote it: no recoveryCodesUnused.
    const { noted, record } = await dropNotedCount(plain.users, 'alice');
    expect(noted).toEqual({ generation: record.recoveryCodeGeneration, count: 9 });

    let challenge = await h.challenge('alice');
    let code = h.freshCode(u.secret);
    waves.reset();
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: code })).recoveryCodesRemaining).toBe(9);
    expect(waves.calls).toEqual(['users.get', 'codes.countUnused', 'users.put']);
    challenge = await h.challenge('alice');
    code = h.freshCode(u.secret);
    waves.reset();
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: code })).recoveryCodesRemaining).toBe(9);
    expect(waves.calls).toEqual(['users.get', 'users.put']);
  });

  it('a set not yet revealed reports the size noted with it, without opening its sealed codes', async () => {
    const { waves, h, plain } = counted();
    const u = await h.enroll('alice');
    const bob = await h.enroll('bob');
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) }));
    ok(await h.mfa.regenerateRecoveryCodes('bob', { totp: h.freshCode(bob.secret) }));
    const alice = (await plain.users.get('alice'))!;
    const record = alice.record as MfaRecord;
    expect(record.recoveryCodesUnused).toEqual({ generation: record.recoveryCodeGeneration, count: 10 });
    // Bob's sealed codes: well formed, under the current key, but bound to bob, so they never open for alice.
    // Were they opened, the count would fall back to a store call.
    const foreign = ((await plain.users.get('bob'))!.record as MfaRecord).unrevealedCodes;
    expect(await plain.users.put('alice', { ...record, unrevealedCodes: foreign }, alice.version)).toBe(true);
    const challenge = await h.challenge('alice');
    const code = h.freshCode(u.secret);
    waves.reset();
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: code })).recoveryCodesRemaining).toBe(10);
    expect(waves.calls).toEqual(['users.get', 'users.put']);
  });

  it('a set not yet revealed, made before its count was noted, is counted once from its sealed codes, then from the note', async () => {
    const { waves, h, plain } = counted();
    const u = await h.enroll('alice');
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) }));
    // As an earlier version made the set: no count beside it.
    expect((await dropNotedCount(plain.users, 'alice')).noted?.count).toBe(10);

    const challenge = await h.challenge('alice');
    const code = h.freshCode(u.secret);
    waves.reset();
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: code })).recoveryCodesRemaining).toBe(10);
    expect(waves.calls).toEqual(['users.get', 'users.put']);
    const after = (await h.record('alice'))!;
    expect(after.unrevealedCodes).not.toBeNull();
    expect(after.recoveryCodesUnused).toEqual({ generation: after.recoveryCodeGeneration, count: 10 });
  });

  it('recovery-code and app logins racing on one user leave the record counting what the store holds', async () => {
    for (let round = 0; round < 5; round++) {
      const h = new Harness();
      const u = await h.enroll('alice');
      const challenges = await Promise.all(Array.from({ length: 6 }, () => h.challenge('alice')));
      const code = h.freshCode(u.secret);
      const results = await Promise.all([
        h.mfa.verifyLogin(challenges[0]!, { recoveryCode: u.codes[0]! }),
        h.mfa.verifyLogin(challenges[1]!, { totp: code }),
        h.mfa.verifyLogin(challenges[2]!, { recoveryCode: u.codes[1]! }),
        h.mfa.verifyLogin(challenges[3]!, { recoveryCode: u.codes[2]! }),
        h.mfa.verifyLogin(challenges[4]!, { recoveryCode: u.codes[3]! }),
      ]);
      for (const result of results) ok(result);
      expect(await h.codes.countUnused('alice')).toBe(6);
      expect((await h.record('alice'))!.recoveryCodesUnused?.count).toBe(6);
      const last = ok(await h.mfa.verifyLogin(challenges[5]!, { totp: h.freshCode(u.secret) }));
      expect(last.recoveryCodesRemaining).toBe(6);
    }
  });

  it('startLogin is one round trip', async () => {
    const { waves, h } = counted();
    await h.enroll('alice');
    waves.reset();
    await h.mfa.startLogin('alice');
    expect(waves.waves).toBe(1);
  });
});
