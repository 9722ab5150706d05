/**
 * The {@link UserStore} contracts of the conformance suite: get and
 * compare-and-set put, exact records and user ids, isolation of returned
 * objects, races of parallel writers, and the optional `scan`.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect } from 'vitest';
import { blankRecord } from '../service/record.ts';
import type { MfaRecord, UserStore } from '../stores/types.ts';
import { countTrue, incrementFailures, occurrences, parallel, walk, type Contract } from './conformance-support.ts';
import { awkwardUserIds, sampleRecord } from './fixtures.ts';

/** Registers the UserStore group with `contract`, racing `concurrency` callers. */
export function userStoreContracts(contract: Contract, concurrency: number): void {
  describe('UserStore', () => {
    const id = 'user-1';

    contract('get of an unknown user id resolves null', async ({ users }) => {
      expect(await users.get(id)).toBeNull();
      expect(await users.get('never-written')).toBeNull();
    });

    contract('put with expectedVersion null creates the record at version 1', async ({ users }) => {
      const record = sampleRecord();
      expect(await users.put(id, record, null)).toBe(true);
      const stored = await users.get(id);
      expect(stored?.version).toBe(1);
      expect(stored?.record).toEqual(record);
    });

    contract('put with expectedVersion null fails when a record exists, and changes nothing', async ({ users }) => {
      const first = sampleRecord({ accountName: 'first' });
      expect(await users.put(id, first, null)).toBe(true);
      expect(await users.put(id, sampleRecord({ accountName: 'second' }), null)).toBe(false);
      expect(await users.get(id)).toEqual({ record: first, version: 1 });
    });

    contract('put with the current version writes and moves the version to version + 1', async ({ users }) => {
      expect(await users.put(id, sampleRecord(), null)).toBe(true);
      const second = sampleRecord({ failures: 4 });
      expect(await users.put(id, second, 1)).toBe(true);
      expect(await users.get(id)).toEqual({ record: second, version: 2 });
      const third = sampleRecord({ failures: 5 });
      expect(await users.put(id, third, 2)).toBe(true);
      expect(await users.get(id)).toEqual({ record: third, version: 3 });
    });

    contract('put with a stale version fails and changes nothing', async ({ users }) => {
      expect(await users.put(id, sampleRecord(), null)).toBe(true);
      const current = sampleRecord({ lockCount: 7 });
      expect(await users.put(id, current, 1)).toBe(true);
      expect(await users.put(id, sampleRecord({ lockCount: 8 }), 1)).toBe(false);
      expect(await users.get(id)).toEqual({ record: current, version: 2 });
    });

    contract('put with a future version fails and changes nothing', async ({ users }) => {
      const current = sampleRecord();
      expect(await users.put(id, current, null)).toBe(true);
      expect(await users.put(id, sampleRecord({ lockCount: 8 }), 2)).toBe(false);
      expect(await users.put(id, sampleRecord({ lockCount: 9 }), 1_000_000)).toBe(false);
      expect(await users.get(id)).toEqual({ record: current, version: 1 });
    });

    contract('put naming a version when no record exists fails and creates nothing', async ({ users }) => {
      expect(await users.put(id, sampleRecord(), 1)).toBe(false);
      expect(await users.put(id, sampleRecord(), 0)).toBe(false);
      expect(await users.get(id)).toBeNull();
    });

    contract('every successful write moves the version by exactly one', async ({ users }) => {
      expect(await users.put(id, sampleRecord({ failures: 0 }), null)).toBe(true);
      for (let version = 1; version <= 20; version++) {
        expect(await users.put(id, sampleRecord({ failures: version }), version)).toBe(true);
      }
      const stored = await users.get(id);
      expect(stored?.version).toBe(21);
      expect(stored?.record.failures).toBe(20);
    });

    contract('a fully populated record round-trips deep-equal', async ({ users }) => {
      const record = sampleRecord();
      expect(await users.put(id, record, null)).toBe(true);
      const stored = await users.get(id);
      expect(stored?.record).toEqual(sampleRecord());
      expect(Object.keys(stored!.record).sort()).toEqual(Object.keys(record).sort());
    });

    contract('a record of nulls, zeros, false and empty arrays round-trips deep-equal', async ({ users }) => {
      const record = blankRecord();
      expect(await users.put(id, record, null)).toBe(true);
      expect((await users.get(id))?.record).toStrictEqual(record);
    });

    contract('numbers round-trip exactly: time steps, ms timestamps and the largest safe integer', async ({ users }) => {
      const sample = sampleRecord();
      const record = sampleRecord({
        factors: sample.factors.map((f) => (f.kind === 'totp' ? { ...f, lastStep: 58_800_000 } : { ...f, signCount: 2 ** 32 - 1 })),
        enabledAt: 1_700_000_000_123,
        pendingTotp: { ...sample.pendingTotp!, expiresAt: 8_640_000_000_000_000 },
        lockedUntil: Number.MAX_SAFE_INTEGER,
        challengeEpoch: 2 ** 31,
        spentChallenges: [{ id: 'x', expiresAt: 1_799_999_999_999 }],
      });
      expect(await users.put(id, record, null)).toBe(true);
      const stored = (await users.get(id))!.record as MfaRecord;
      expect(stored.factors.find((f) => f.kind === 'totp')).toMatchObject({ lastStep: 58_800_000 });
      expect(stored.factors.find((f) => f.kind === 'webauthn')).toMatchObject({ signCount: 2 ** 32 - 1 });
      expect(stored.enabledAt).toBe(1_700_000_000_123);
      expect(stored.pendingTotp?.expiresAt).toBe(8_640_000_000_000_000);
      expect(stored.lockedUntil).toBe(Number.MAX_SAFE_INTEGER);
      expect(stored.challengeEpoch).toBe(2 ** 31);
      expect(stored.spentChallenges[0]?.expiresAt).toBe(1_799_999_999_999);
      expect(stored).toEqual(record);
    });

    contract('strings round-trip exactly: unicode, quotes, backslashes, NUL, newlines', async ({ users }) => {
      const strings = ['Zoë 🔐👩‍💻', 'e\u0301 \u00e9', '\u202Eabc', 'it\'s "x" \\ \\u0000', 'nul\u0000inside', 'a\nb\r\nc\t', '', ' padded '];
      for (const [i, text] of strings.entries()) {
        const userId = `strings-${i}`;
        const record = sampleRecord({ lockReason: text, accountName: text, recoveryCodeSet: text });
        expect(await users.put(userId, record, null)).toBe(true);
        const stored = (await users.get(userId))!.record;
        expect(stored.lockReason).toBe(text);
        expect(stored).toEqual(record);
      }
    });

    contract('a large record (256 spent challenges) round-trips deep-equal', async ({ users }) => {
      const spentChallenges = Array.from({ length: 256 }, (_, i) => ({
        id: randomBytes(16).toString('base64url'),
        expiresAt: 1_700_000_000_000 + i,
      }));
      const record = sampleRecord({ spentChallenges });
      expect(await users.put(id, record, null)).toBe(true);
      expect((await users.get(id))?.record).toEqual(record);
    });

    contract('put replaces the whole record: no field of the previous version survives', async ({ users }) => {
      expect(await users.put(id, sampleRecord(), null)).toBe(true);
      const cleared = sampleRecord({
        factors: [],
        pendingTotp: null,
        pendingWebAuthn: null,
        spentChallenges: [],
        emailRecovery: null,
        lockReason: null,
      });
      expect(await users.put(id, cleared, 1)).toBe(true);
      expect(await users.get(id)).toEqual({ record: cleared, version: 2 });
    });

    contract('mutating the object passed to put afterwards does not change what is stored', async ({ users }) => {
      const record = sampleRecord();
      expect(await users.put(id, record, null)).toBe(true);
      record.failures = 99;
      record.spentChallenges.push({ id: 'injected', expiresAt: 1 });
      record.spentChallenges[0]!.id = 'mutated';
      record.emailRecovery!.status = 'cancelled';
      expect((await users.get(id))?.record).toEqual(sampleRecord());
    });

    contract('mutating a record returned by get does not change what is stored', async ({ users }) => {
      expect(await users.put(id, sampleRecord(), null)).toBe(true);
      const first = await users.get(id);
      first!.record.failures = 99;
      first!.record.spentChallenges.push({ id: 'injected', expiresAt: 1 });
      first!.record.spentChallenges[0]!.id = 'mutated';
      first!.record.emailRecovery!.status = 'cancelled';
      first!.version = 42;
      const second = await users.get(id);
      expect(second).toEqual({ record: sampleRecord(), version: 1 });
      expect(second?.record).not.toBe(first?.record);
    });

    contract(`concurrent compare-and-set: ${concurrency} parallel puts naming the same version, exactly one wins and its record is stored`, async ({ users }) => {
      expect(await users.put(id, sampleRecord(), null)).toBe(true);
      expect(await users.put(id, sampleRecord({ failures: 1 }), 1)).toBe(true);
      const records = Array.from({ length: concurrency }, (_, i) => sampleRecord({ failures: 100 + i, accountName: `writer ${i}` }));
      const results = await parallel(concurrency, (i) => users.put(id, records[i]!, 2));
      expect(countTrue(results)).toBe(1);
      expect(results.every((result) => typeof result === 'boolean')).toBe(true);
      const winner = results.indexOf(true);
      expect(await users.get(id)).toEqual({ record: records[winner], version: 3 });
    });

    contract(`concurrent creates: ${concurrency} parallel puts with expectedVersion null, exactly one wins`, async ({ users }) => {
      const records = Array.from({ length: concurrency }, (_, i) => sampleRecord({ failures: i, accountName: `creator ${i}` }));
      const results = await parallel(concurrency, (i) => users.put(id, records[i]!, null));
      expect(countTrue(results)).toBe(1);
      expect(await users.get(id)).toEqual({ record: records[results.indexOf(true)], version: 1 });
    });

    contract(`concurrent read-modify-write loops lose no update (${concurrency} writers)`, async ({ users }) => {
      expect(await users.put(id, sampleRecord({ failures: 0 }), null)).toBe(true);
      await parallel(concurrency, () => incrementFailures(users, id, concurrency * 4 + 16));
      const stored = await users.get(id);
      expect(stored?.record.failures).toBe(concurrency);
      expect(stored?.version).toBe(1 + concurrency);
    });

    contract(`writes to different users never conflict (${concurrency} parallel creates and updates)`, async ({ users }) => {
      const ids = Array.from({ length: concurrency }, (_, i) => `parallel-user-${i}`);
      expect(countTrue(await parallel(concurrency, (i) => users.put(ids[i]!, sampleRecord({ failures: i }), null)))).toBe(concurrency);
      expect(countTrue(await parallel(concurrency, (i) => users.put(ids[i]!, sampleRecord({ failures: i + 1000 }), 1)))).toBe(concurrency);
      for (const [i, userId] of ids.entries()) {
        expect(await users.get(userId)).toEqual({ record: sampleRecord({ failures: i + 1000 }), version: 2 });
      }
    });

    contract('awkward user ids are stored and read back exactly, each its own record', async ({ users }) => {
      expect(new Set(awkwardUserIds).size).toBe(awkwardUserIds.length);
      for (const [i, userId] of awkwardUserIds.entries()) {
        expect(await users.get(userId)).toBeNull();
        expect(await users.put(userId, sampleRecord({ failures: i, lockReason: userId }), null)).toBe(true);
      }
      // Every other id gets a second version, so versions must be tracked per id too.
      for (const [i, userId] of awkwardUserIds.entries()) {
        if (i % 2 === 0) expect(await users.put(userId, sampleRecord({ failures: i, lockReason: userId, lockCount: 1 }), 1)).toBe(true);
      }
      for (const [i, userId] of awkwardUserIds.entries()) {
        const expected = sampleRecord({ failures: i, lockReason: userId, ...(i % 2 === 0 ? { lockCount: 1 } : {}) });
        expect(await users.get(userId), `user id #${i}`).toEqual({ record: expected, version: i % 2 === 0 ? 2 : 1 });
      }
    });

    contract('ids differing only by a trailing NUL, case, a trailing space or normalization are distinct', async ({ users }) => {
      const groups = [
        ['user', 'user\u0000', 'User', 'USER', 'user ', ' user', '\uFEFFuser'],
        ['\u00e9', 'e\u0301'],
        ['straße', 'STRASSE', 'strasse'],
      ];
      for (const group of groups) {
        for (const [i, userId] of group.entries()) {
          expect(await users.put(userId, sampleRecord({ failures: i }), null), JSON.stringify(userId)).toBe(true);
        }
        for (const [i, userId] of group.entries()) {
          expect((await users.get(userId))?.record.failures, JSON.stringify(userId)).toBe(i);
        }
      }
    });

    /** `scan` is optional: a store without it passes these contracts by not having one at all. */
    function scanContract(name: string, body: (users: UserStore) => Promise<void>): void {
      contract(`scan (optional): ${name}`, async ({ users }) => {
        if (users.scan === undefined) {
          expect(users.scan, 'no scan: rekeyAll then needs the host\'s own user ids').toBeUndefined();
          return;
        }
        expect(typeof users.scan).toBe('function');
        await body(users);
      });
    }

    scanContract('an empty store: no user ids, and the walk ends', async (users) => {
      const { userIds, unnamed } = await walk(users, 10);
      expect(userIds).toEqual([]);
      expect(unnamed).toBe(0);
    });

    scanContract('every user is visited exactly once, whatever the page size; a cursor resumes with another page size', async (users) => {
      const ids = Array.from({ length: 23 }, (_, i) => `scanned-${i}`);
      for (const [i, userId] of ids.entries()) expect(await users.put(userId, sampleRecord({ failures: i }), null)).toBe(true);
      // Versions do not matter: some users written again.
      for (const userId of ids.slice(0, 5)) expect(await users.put(userId, sampleRecord({ failures: 99 }), 1)).toBe(true);
      for (const limit of [4, 25, 1000]) {
        const { userIds } = await walk(users, limit);
        expect([...userIds].sort(), `limit ${limit}`).toEqual([...ids].sort());
        expect(new Set(userIds).size, `limit ${limit}: no user twice`).toBe(userIds.length);
      }
      // The first page, then the rest from its cursor with another page size.
      let first = await users.scan!(null, 4);
      const seen = [...first.userIds];
      while (first.cursor !== null && seen.length === 0) {
        first = await users.scan!(first.cursor, 4);
        seen.push(...first.userIds);
      }
      const rest = first.cursor === null ? [] : (await walk(users, 9, undefined, first.cursor)).userIds;
      expect([...seen, ...rest].sort()).toEqual([...ids].sort());
    });

    scanContract('writes during the walk: every user present throughout is visited exactly once, a new one at most once', async (users) => {
      const ids = Array.from({ length: 40 }, (_, i) => `present-${i}`);
      for (const userId of ids) expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      const versions = new Map(ids.map((userId) => [userId, 1]));
      const created: string[] = [];
      const { userIds } = await walk(users, 7, async (page) => {
        // After each page: every existing user written again, and two new users.
        await Promise.all(ids.map(async (userId) => {
          const version = versions.get(userId)!;
          expect(await users.put(userId, sampleRecord({ failures: version }), version)).toBe(true);
          versions.set(userId, version + 1);
        }));
        for (const userId of [`new-${page}-a`, `new-${page}-b`]) {
          expect(await users.put(userId, sampleRecord(), null)).toBe(true);
          created.push(userId);
        }
      });
      const counts = occurrences(userIds);
      for (const userId of ids) expect(counts.get(userId), userId).toBe(1);
      for (const userId of created) expect(counts.get(userId) ?? 0, userId).toBeLessThanOrEqual(1);
      for (const userId of counts.keys()) expect([...ids, ...created]).toContain(userId);
    });

    scanContract('awkward user ids come back from scan exactly as they were put', async (users) => {
      for (const userId of awkwardUserIds) expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      const { userIds } = await walk(users, 5);
      expect(userIds.length).toBe(awkwardUserIds.length);
      expect(new Set(userIds)).toEqual(new Set(awkwardUserIds));
    });

    contract('patterns, prefixes and truncations of stored ids are not found', async ({ users }) => {
      for (const userId of awkwardUserIds) expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      const longId = awkwardUserIds[awkwardUserIds.length - 1]!;
      const absent = ['use', 'users', 'u%', '%user%', 'us_', 'user\u0000\u0000', 'user  ', 'uSer', '**', 'user:', 'twofold:users:', longId.slice(0, -1), longId.slice(0, 4096), `${longId}c`];
      for (const userId of absent) {
        expect(awkwardUserIds).not.toContain(userId);
        expect(await users.get(userId), JSON.stringify(userId.slice(0, 40))).toBeNull();
      }
    });
  });
}
