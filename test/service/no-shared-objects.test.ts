/**
 * The service reads the memory store's records without a copy (issue 13),
 * so nothing it hands out may share an object with a stored record: a host
 * that changed a returned array (say, the transports in WebAuthn request
 * options) would otherwise change stored state behind the compare-and-set.
 * Nor may a record keep an object a caller passed in, which the caller could
 * change later. Every public method is called through a wrapper that walks
 * its arguments, its result and every event emitted, and fails on any object
 * that is part of a stored record.
 */
import { describe, expect, it } from 'vitest';
import type { MfaService } from '../../src/service/mfa-service.ts';
import { storedRecordAccessOf } from '../../src/stores/memory.ts';
import { ok } from './fixtures.ts';
import { keyHarness, loginWithKey, newKey, registerKey } from './webauthn-fixtures.ts';

function objectsIn(value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value !== 'object' || value === null || into.has(value)) return into;
  into.add(value);
  for (const item of Object.values(value)) objectsIn(item, into);
  return into;
}

describe('nothing the service returns shares an object with a stored record', () => {
  it('results and events of every public method, over a whole life of two users', async () => {
    const h = keyHarness();
    const users = ['alice', 'bob'];
    const stored = () => {
      const all = new Set<object>();
      for (const id of users) objectsIn(storedRecordAccessOf(h.users)!.read(id), all);
      return all;
    };
    let checked = 0;
    const check = (what: string, value: unknown) => {
      const shared = [...objectsIn(value)].filter((o) => stored().has(o));
      expect(shared, `${what} shares ${JSON.stringify(shared).slice(0, 200)}`).toEqual([]);
      checked++;
    };
    const mfa = new Proxy(h.mfa, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const from = h.events.length;
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          check(String(name), result);
          check(`events of ${String(name)}`, h.events.slice(from));
          // Nor does a record keep an object the caller passed in (arguments, WebAuthn responses, options).
          check(`arguments of ${String(name)}`, args);
          return result;
        };
      },
    }) as MfaService;

    const u = await h.enroll('alice', mfa);
    const key = newKey();
    const keyId = await registerKey(h, 'alice', key, { mfa, proof: { totp: h.freshCode(u.secret) } });
    await registerKey(h, 'bob', newKey(), { mfa });
    check('status', await mfa.status('alice'));
    check('listFactors', await mfa.listFactors('alice'));
    const started = await mfa.startLogin('alice');
    expect(started).toMatchObject({ mfaRequired: true, webauthn: { allowCredentials: [{ transports: expect.any(Array) }] } });
    ok(await loginWithKey(h, 'alice', key, mfa));
    const remembered = ok(await mfa.verifyLogin(await h.challenge('alice', mfa), { totp: h.freshCode(u.secret) }, { rememberDevice: { label: 'Firefox' } }));
    await mfa.startLogin('alice', { deviceToken: remembered.device!.token });
    await mfa.listDevices('alice');
    await mfa.renameFactor('alice', keyId, 'Blue key');
    const step = await mfa.startStepUp('alice');
    ok(await mfa.verifyStepUp((step as { challenge: string }).challenge, { totp: h.freshCode(u.secret) }));
    await mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) });
    await mfa.revealRecoveryCodes('alice');
    await mfa.rekey('alice');
    await mfa.lock('alice', { reason: 'support' });
    await mfa.unlock('alice');
    await mfa.requestEmailRecovery('alice');
    await mfa.cancelEmailRecovery('alice');
    await mfa.forgetDevices('alice');
    await mfa.removeFactor('alice', keyId, { totp: h.freshCode(u.secret) });
    await mfa.resetMfa('bob', { actor: 'support', reason: 'lost phone' });
    await mfa.disable('alice', { totp: h.freshCode(u.secret) });
    expect(checked).toBeGreaterThan(40);
  });
});
