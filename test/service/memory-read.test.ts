/**
 * MfaService reads and writes its embedded MemoryUserStore without copies:
 * the stored record itself (issue 13). The service never changes a record it
 * read or wrote (every Harness runs on FreezingMemoryUserStore, which
 * deep-freezes them, so a flow that did would fail); callers of `get` still
 * get their own mutable copies; a store whose `get` or `put` is replaced or
 * overridden is used through it.
 */
import { describe, expect, it, vi } from 'vitest';
import { isMfaError, MemoryRecoveryCodeStore, MemoryUserStore, MfaService } from '../../src/index.ts';
import { storedRecordAccessOf } from '../../src/stores/memory.ts';
import type { MfaRecord } from '../../src/stores/types.ts';
import { FreezingMemoryUserStore, Harness, KEY_1, ok } from './fixtures.ts';

describe('the service reads the memory store without a copy', () => {
  it('reads the stored record itself, which the service never changes (frozen in every service test)', async () => {
    const h = new Harness();
    expect(h.users).toBeInstanceOf(FreezingMemoryUserStore);
    const u = await h.enroll('alice');
    const read = (userId: string) => storedRecordAccessOf(h.users)!.read(userId);
    const stored = read('alice')!;
    const record = stored.record as MfaRecord;
    // Frozen by the test store: a write through it throws.
    expect(() => {
      (record as { failures: number }).failures = 99;
    }).toThrow(TypeError);
    expect(() => record.spentChallenges.push({ id: 'x', expiresAt: 1 })).toThrow(TypeError);
    // A get is a copy of it; a login reads it and writes a new one.
    expect((await h.users.get('alice'))!.record).toEqual(record);
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    expect(read('alice')!.version).toBe(stored.version + 1);
    expect(read('alice')!.record).not.toBe(record);
  });

  it('get still hands out a fresh mutable copy', async () => {
    const users = new MemoryUserStore();
    const mfa = new MfaService({ issuer: 'Example App', secretKey: KEY_1, users, recoveryCodes: new MemoryRecoveryCodeStore() });
    ok(await mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    const copy = (await users.get('alice'))!.record as MfaRecord;
    copy.failures = 7;
    expect(((await users.get('alice'))!.record as MfaRecord).failures).toBe(0);
    expect(storedRecordAccessOf(users)!.read('alice')!.record).not.toBe(copy);
  });

  it('a get replaced after the service was made (a spy, an injected fault) is what the service reads through', async () => {
    const h = new Harness();
    await h.enroll('alice');
    const spy = vi.spyOn(h.users, 'get').mockRejectedValueOnce(new Error('store down'));
    await expect(h.mfa.status('alice')).rejects.toThrow('store down');
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    expect((await h.mfa.status('alice')).state).toBe('enabled');
  });

  it('a subclass that overrides get is read through its get', async () => {
    const reads: string[] = [];
    class Logged extends MemoryUserStore {
      override async get(userId: string) {
        reads.push(userId);
        return super.get(userId);
      }
    }
    const users = new Logged();
    expect(storedRecordAccessOf(users)!.read('nobody')).toBeUndefined();
    const mfa = new MfaService({ issuer: 'Example App', secretKey: KEY_1, users, recoveryCodes: new MemoryRecoveryCodeStore() });
    await mfa.status('alice');
    expect(reads).toEqual(['alice']);
  });

  it('a put replaced later or overridden by a subclass is what the service writes through', async () => {
    const h = new Harness();
    await h.enroll('alice');
    const spy = vi.spyOn(h.users, 'put').mockRejectedValueOnce(new Error('store down'));
    await expect(h.mfa.lock('alice', { reason: 'support' })).rejects.toThrow('store down');
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    expect((await h.mfa.status('alice')).state).toBe('enabled');

    const writes: string[] = [];
    class Logged extends MemoryUserStore {
      override async put(...args: Parameters<MemoryUserStore['put']>) {
        writes.push(args[0]);
        return super.put(...args);
      }
    }
    const users = new Logged();
    expect(storedRecordAccessOf(users)!.write('nobody', {} as never, null)).toBeUndefined();
    const mfa = new MfaService({ issuer: 'Example App', secretKey: KEY_1, users, recoveryCodes: new MemoryRecoveryCodeStore() });
    ok(await mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    expect(writes).toEqual(['alice']);
  });

  it('the service write keeps the record it built (itself: built by one literal, no slack to shed; a compare-and-set like put); get copies it', async () => {
    const users = new MemoryUserStore();
    const mfa = new MfaService({ issuer: 'Example App', secretKey: KEY_1, users, recoveryCodes: new MemoryRecoveryCodeStore() });
    ok(await mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    const access = storedRecordAccessOf(users)!;
    const before = access.read('alice')!;
    const next = { ...(before.record as MfaRecord), failures: 1 };
    expect(access.write('alice', next, before.version)).toBe(true);
    const kept = access.read('alice')!.record as MfaRecord;
    // Kept as built: the service never changes a record once written (frozen in every service test).
    expect(kept).toBe(next);
    const copy = (await users.get('alice'))!;
    expect(copy).toEqual({ record: next, version: before.version + 1 });
    expect(copy.record).not.toBe(next);
    // A stale version is refused, as put refuses it.
    expect(access.write('alice', { ...next, failures: 2 }, before.version)).toBe(false);
    expect((access.read('alice')!.record as MfaRecord).failures).toBe(1);
  });

  it('a record read without a copy is checked like one read through get: something else put there is store_contract, on every path', async () => {
    const users = new MemoryUserStore();
    const mfa = new MfaService({ issuer: 'Example App', secretKey: KEY_1, users, recoveryCodes: new MemoryRecoveryCodeStore() });
    expect(await users.put('alice', { schema: 9, note: 'not a twofold record' } as never, null)).toBe(true);
    for (const call of [() => mfa.status('alice'), () => mfa.lock('alice'), () => mfa.startLogin('alice')]) {
      const error = await call().then(() => null, (e: unknown) => e);
      expect(isMfaError(error, 'store_contract'), String(error)).toBe(true);
    }
  });

  it('no other store gets the shortcut, a Proxy of a memory store neither', () => {
    expect(storedRecordAccessOf({ get: async () => null, put: async () => true })).toBeNull();
    expect(storedRecordAccessOf(new Proxy(new MemoryUserStore(), {}))).toBeNull();
  });
});
