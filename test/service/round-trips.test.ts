/**
 * Issue 13: a successful TOTP (or security-key) login costs at most two
 * sequential store round trips — the record read alongside the unused-code
 * count, then the compare-and-set write. Every store method of the SQL and
 * Redis adapters is one round trip, so this counts them for every adapter.
 * A "wave" is a group of store calls in flight together: a call that starts
 * after every earlier call has finished opens a new wave.
 */
import { describe, expect, it } from 'vitest';
import type { RecoveryCodeStore, UserStore } from '../../src/stores/types.ts';
import { Harness, ok } from './fixtures.ts';

class Waves {
  waves = 0;
  #inFlight = 0;
  wrap<T extends object>(store: T): T {
    return new Proxy(store, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (this.#inFlight === 0) this.waves++;
          this.#inFlight++;
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
  }
}

describe('store round trips of a login (issue 13)', () => {
  it('a successful TOTP verifyLogin costs at most two sequential store round trips', async () => {
    const waves = new Waves();
    const plain = new Harness();
    const h = new Harness({}, {
      users: waves.wrap(plain.users) as unknown as typeof plain.users,
      codes: waves.wrap(plain.codes) as unknown as typeof plain.codes,
      clock: plain.clock,
    });
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    const code = h.freshCode(u.secret);
    waves.reset();
    ok(await h.mfa.verifyLogin(challenge, { totp: code }));
    expect(waves.waves).toBeLessThanOrEqual(2);
  });

  it('startLogin is one round trip', async () => {
    const waves = new Waves();
    const plain = new Harness();
    const users: UserStore = waves.wrap(plain.users);
    const codes: RecoveryCodeStore = waves.wrap(plain.codes);
    const h = new Harness({}, { users: users as never, codes: codes as never, clock: plain.clock });
    await h.enroll('alice');
    waves.reset();
    await h.mfa.startLogin('alice');
    expect(waves.waves).toBe(1);
  });
});
