import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isMfaError, MemoryRecoveryCodeStore, MemoryUserStore, type MfaRecord } from 'twofold';
import { awkwardUserIds, runStoreConformance, sampleRecord } from 'twofold/testing';
import { MALFORMED_HASHES } from './malformed-hashes.ts';
import { BAD_CURSORS, BAD_LIMITS } from './scan-arguments.ts';

runStoreConformance({
  name: 'memory',
  makeStores: () => ({ users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() }),
});

const hash = (): string => randomBytes(32).toString('hex');

async function expectInvalidArgument(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isMfaError(error, 'invalid_argument'), `expected MfaError invalid_argument, got ${String(error)}`).toBe(true);
}

describe('MemoryUserStore.scan', () => {
  it('pages in creation order; the cursor is the position reached, and a user created after the last page is left for the next walk', async () => {
    const users = new MemoryUserStore();
    for (const userId of ['c', 'a', 'b']) expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    expect(await users.put('a', sampleRecord({ failures: 1 }), 1)).toBe(true);
    expect(await users.scan(null, 2)).toEqual({ userIds: ['c', 'a'], cursor: '2' });
    expect(await users.put('d', sampleRecord(), null)).toBe(true);
    expect(await users.scan('2', 2)).toEqual({ userIds: ['b', 'd'], cursor: null });
  });

  it.each(BAD_LIMITS)('refuses a page size of %s with MfaError invalid_argument', async (_, limit) => {
    await expectInvalidArgument(new MemoryUserStore().scan(null, limit as number));
  });

  it.each([...BAD_CURSORS, ['past the end', '5'] as [string, unknown]])('refuses a cursor (%s) it never made with MfaError invalid_argument', async (_, cursor) => {
    const users = new MemoryUserStore();
    expect(await users.put('a', sampleRecord(), null)).toBe(true);
    await expectInvalidArgument(users.scan(cursor as string, 10));
  });
});

describe('MemoryRecoveryCodeStore', () => {
  it.each(MALFORMED_HASHES)('rejects a malformed hash (%s) in replace with MfaError invalid_argument', async (_, bad) => {
    const store = new MemoryRecoveryCodeStore();
    await expectInvalidArgument(store.replace('alice', [hash(), bad as string], 1));
  });

  it.each(MALFORMED_HASHES)('rejects a malformed hash (%s) in consume and restore of a stored set', async (_, bad) => {
    const store = new MemoryRecoveryCodeStore();
    await store.replace('alice', [hash()], 1);
    await expectInvalidArgument(store.consume('alice', bad as string));
    await expectInvalidArgument(store.restore('alice', bad as string));
  });

  it('a rejected replace leaves the old set intact', async () => {
    const store = new MemoryRecoveryCodeStore();
    const set = [hash(), hash()];
    await store.replace('alice', set, 1);
    await expectInvalidArgument(store.replace('alice', [hash(), 'not a hash'], 2));
    expect(await store.countUnused('alice')).toBe(2);
    expect(await store.consume('alice', set[0]!)).toBe(true);
  });

  it('the replaced array can be mutated afterwards without changing the stored set', async () => {
    const store = new MemoryRecoveryCodeStore();
    const set = [hash(), hash()];
    const original = [...set];
    await store.replace('alice', set, 1);
    set[0] = hash();
    set.push(hash());
    expect(await store.countUnused('alice')).toBe(2);
    expect(await store.consume('alice', original[0]!)).toBe(true);
    expect(await store.consume('alice', set[0]!)).toBe(false);
  });

  it.each([[-1], [1.5], [Number.NaN], ['1']])('rejects a generation that is not a non-negative safe integer (%s)', async (bad) => {
    const store = new MemoryRecoveryCodeStore();
    await expectInvalidArgument(store.replace('alice', [hash()], bad as number));
    expect(await store.countUnused('alice')).toBe(0);
  });

  it('separate instances share nothing', async () => {
    const a = new MemoryRecoveryCodeStore();
    const b = new MemoryRecoveryCodeStore();
    const shared = hash();
    await a.replace('alice', [shared], 1);
    expect(await b.countUnused('alice')).toBe(0);
    expect(await b.consume('alice', shared)).toBe(false);
  });
});

describe('MemoryUserStore', () => {
  it('keeps records as JSON: fields JSON cannot hold are dropped, never kept by reference', async () => {
    const store = new MemoryUserStore();
    const record = { ...sampleRecord(), extra: undefined } as MfaRecord;
    expect(await store.put('alice', record, null)).toBe(true);
    const stored = await store.get('alice');
    expect(stored?.record).toEqual(sampleRecord());
    expect(Object.keys(stored!.record)).not.toContain('extra');
  });

  it('rejects a record JSON cannot encode (a BigInt) and stores nothing', async () => {
    const store = new MemoryUserStore();
    const record = { ...sampleRecord(), failures: 1n } as unknown as MfaRecord;
    await expect(store.put('alice', record, null)).rejects.toThrow(TypeError);
    expect(await store.get('alice')).toBeNull();
    expect(store.size).toBe(0);
  });

  it('returns a new object on every get', async () => {
    const store = new MemoryUserStore();
    await store.put('alice', sampleRecord(), null);
    const [a, b] = [await store.get('alice'), await store.get('alice')];
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
    expect(a!.record.spentChallenges).not.toBe(b!.record.spentChallenges);
  });

  it('size counts users with a record, awkward ids each once', async () => {
    const store = new MemoryUserStore();
    expect(store.size).toBe(0);
    for (const id of awkwardUserIds) await store.put(id, sampleRecord(), null);
    await store.put(awkwardUserIds[0]!, sampleRecord(), 1);
    expect(store.size).toBe(awkwardUserIds.length);
  });

  it.each([[-1], [1.5], [Number.NaN], ['1']])('rejects a generation that is not a non-negative safe integer (%s)', async (bad) => {
    const store = new MemoryRecoveryCodeStore();
    await expectInvalidArgument(store.replace('alice', [hash()], bad as number));
    expect(await store.countUnused('alice')).toBe(0);
  });

  it('separate instances share nothing', async () => {
    const a = new MemoryUserStore();
    const b = new MemoryUserStore();
    await a.put('alice', sampleRecord(), null);
    expect(await b.get('alice')).toBeNull();
    expect(await b.put('alice', sampleRecord(), null)).toBe(true);
  });
});
