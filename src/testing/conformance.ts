import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MfaError } from '../errors.ts';
import { rekeyAll, secretKeyId } from '../maintenance/rekey-all.ts';
import { generateTotp } from '../otp/totp.ts';
import { MfaService } from '../service/mfa-service.ts';
import { blankRecord } from '../service/record.ts';
import type { MfaRecord, RecoveryCodeStore, UserStore } from '../stores/types.ts';
import { awkwardUserIds, sampleRecord } from './fixtures.ts';

/** The stores under test, fresh for one test. */
export interface ConformanceStores {
  /** The adapter's {@link UserStore}, empty. */
  users: UserStore;
  /** The adapter's {@link RecoveryCodeStore}, empty. */
  recoveryCodes: RecoveryCodeStore;
  /** Called after the test, pass or fail: drop the schema, delete the key prefix, close the pool. */
  cleanup?: () => Promise<void>;
}

/** Options of {@link runStoreConformance}. */
export interface StoreConformanceOptions {
  /** Shown in the describe block, e.g. `'memory'` or `'postgres'`. */
  name: string;
  /**
   * Fresh, empty, isolated stores for each test (e.g. a new schema or key
   * prefix). Called once per test; the two stores may share a connection.
   */
  makeStores: () => Promise<ConformanceStores> | ConformanceStores;
  /** Parallel callers in the race tests. Default 50; at least 2. */
  concurrency?: number;
  /**
   * A reason to skip the whole suite (e.g. `'PG_URL not set'`). The tests are
   * registered with `describe.skip`, so vitest reports them as skipped, and
   * the reason is printed; nothing passes silently.
   */
  skip?: string | false;
  /** Per-test timeout in ms, for adapters behind a network. Default: vitest's `testTimeout`. */
  timeoutMs?: number;
}

type Stores = Pick<ConformanceStores, 'users' | 'recoveryCodes'>;

/** 64 lowercase hex characters, the shape of every hash the service stores. */
function randomHash(): string {
  return randomBytes(32).toString('hex');
}

function hashes(count: number): string[] {
  return Array.from({ length: count }, randomHash);
}

let generation = 0;
/** A generation greater than any used before in this process, so the replace applies. */
function nextGeneration(): number {
  return ++generation;
}

/** Starts every task before awaiting any, so they really race. */
function parallel<T>(count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => task(i)));
}

function countTrue(results: readonly boolean[]): number {
  return results.filter((result) => result === true).length;
}

/**
 * Every page of a scan from `cursor` (default: the start) to the end, with
 * `between` run after each page (to write while the walk is under way).
 * Fails on a walk that never ends.
 */
async function walk(
  users: UserStore,
  limit: number,
  between?: (page: number) => Promise<void>,
  cursor: string | null = null,
): Promise<{ userIds: string[]; pages: number; unnamed: number }> {
  const userIds: string[] = [];
  let pages = 0;
  let unnamed = 0;
  do {
    const page = await users.scan!(cursor, limit);
    expect(Array.isArray(page.userIds), 'scan resolves { userIds, cursor }').toBe(true);
    expect(page.cursor === null || typeof page.cursor === 'string', 'a cursor is a string or null').toBe(true);
    userIds.push(...page.userIds);
    unnamed += page.unnamed ?? 0;
    cursor = page.cursor;
    if (++pages > 1_000_000) throw new Error('scan never reached a null cursor');
    await between?.(pages);
  } while (cursor !== null);
  return { userIds, pages, unnamed };
}

/** How many times each id occurs. */
function occurrences(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** The service's way of writing: re-read and retry until the compare-and-set wins. */
async function incrementFailures(users: UserStore, userId: string, maxAttempts: number): Promise<void> {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const current = await users.get(userId);
    if (current === null) throw new Error('record vanished during a read-modify-write loop');
    const next = { ...current.record, failures: current.record.failures + 1 } as MfaRecord;
    if (await users.put(userId, next, current.version)) return;
  }
  throw new Error(`compare-and-set never succeeded in ${maxAttempts} attempts`);
}

function checkOptions(options: StoreConformanceOptions): number {
  if (typeof options?.name !== 'string' || options.name === '') {
    throw new MfaError('invalid_option', 'runStoreConformance: `name` must be a non-empty string');
  }
  if (typeof options.makeStores !== 'function') {
    throw new MfaError('invalid_option', 'runStoreConformance: `makeStores` must be a function');
  }
  const concurrency = options.concurrency ?? 50;
  if (!Number.isInteger(concurrency) || concurrency < 2 || concurrency > 10_000) {
    throw new MfaError('invalid_option', 'runStoreConformance: `concurrency` must be an integer from 2 to 10000');
  }
  if (options.skip !== undefined && options.skip !== false && (typeof options.skip !== 'string' || options.skip === '')) {
    throw new MfaError('invalid_option', 'runStoreConformance: `skip` must be a non-empty reason string or false');
  }
  return concurrency;
}

/**
 * Registers the adapter conformance suite with vitest: every contract of
 * {@link UserStore} and {@link RecoveryCodeStore} (compare-and-set, atomic
 * consume, exact user ids, isolation of returned objects, and the optional
 * `scan` when the store has one: every user exactly once while others
 * write), including races of `concurrency` parallel callers, and an
 * end-to-end run of {@link MfaService} over the adapter (a key rotation
 * with `rekeyAll` among it). Call it at the top level of a test
 * file. Every test gets fresh stores from `makeStores` and asserts something.
 *
 * @example
 * ```ts
 * // my-store.test.ts (vitest)
 * import { MemoryRecoveryCodeStore, MemoryUserStore } from 'twofold';
 * import { runStoreConformance } from 'twofold/testing';
 *
 * runStoreConformance({
 *   name: 'memory',
 *   makeStores: () => ({ users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() }),
 * });
 * ```
 */
export function runStoreConformance(options: StoreConformanceOptions): void {
  const concurrency = checkOptions(options);
  const title = `${options.name} store conformance`;
  if (options.skip) {
    console.warn(`twofold: skipping the ${title} suite: ${options.skip}`);
  }
  const suite = options.skip ? describe.skip : describe;

  /** One contract, one test: fresh stores, at least one assertion, cleanup whatever happens. */
  function contract(name: string, body: (stores: Stores) => Promise<void>): void {
    it(name, async () => {
      expect.hasAssertions();
      const stores = await options.makeStores();
      if (typeof stores?.users?.get !== 'function' || typeof stores.recoveryCodes?.consume !== 'function') {
        throw new TypeError('makeStores must return { users: UserStore, recoveryCodes: RecoveryCodeStore }');
      }
      try {
        await body(stores);
      } catch (error) {
        await stores.cleanup?.().catch(() => undefined);
        throw error;
      }
      await stores.cleanup?.();
    }, options.timeoutMs);
  }

  suite(`${title}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
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

    describe('RecoveryCodeStore', () => {
      const id = 'user-1';

      contract('countUnused of an unknown user is 0', async ({ recoveryCodes }) => {
        expect(await recoveryCodes.countUnused(id)).toBe(0);
      });

      contract('replace then countUnused is the size of the set', async ({ recoveryCodes }) => {
        await recoveryCodes.replace(id, hashes(10), nextGeneration());
        expect(await recoveryCodes.countUnused(id)).toBe(10);
        await recoveryCodes.replace('user-2', hashes(1), nextGeneration());
        expect(await recoveryCodes.countUnused('user-2')).toBe(1);
      });

      contract('consume of a stored hash is true once, then false', async ({ recoveryCodes }) => {
        const set = hashes(10);
        await recoveryCodes.replace(id, set, nextGeneration());
        expect(await recoveryCodes.consume(id, set[3]!)).toBe(true);
        expect(await recoveryCodes.countUnused(id)).toBe(9);
        expect(await recoveryCodes.consume(id, set[3]!)).toBe(false);
        expect(await recoveryCodes.countUnused(id)).toBe(9);
      });

      contract('every hash of a set can be consumed once, down to 0', async ({ recoveryCodes }) => {
        const set = hashes(10);
        await recoveryCodes.replace(id, set, nextGeneration());
        for (const hash of set) expect(await recoveryCodes.consume(id, hash)).toBe(true);
        expect(await recoveryCodes.countUnused(id)).toBe(0);
        for (const hash of set) expect(await recoveryCodes.consume(id, hash)).toBe(false);
      });

      contract('consume of an unknown hash or for an unknown user is false', async ({ recoveryCodes }) => {
        const set = hashes(3);
        await recoveryCodes.replace(id, set, nextGeneration());
        expect(await recoveryCodes.consume(id, randomHash())).toBe(false);
        expect(await recoveryCodes.consume('unknown-user', set[0]!)).toBe(false);
        expect(await recoveryCodes.consume('unknown-user', randomHash())).toBe(false);
        expect(await recoveryCodes.countUnused(id)).toBe(3);
      });

      contract(`concurrent consume: ${concurrency} parallel consumes of one hash, exactly one true`, async ({ recoveryCodes }) => {
        const set = hashes(10);
        await recoveryCodes.replace(id, set, nextGeneration());
        const results = await parallel(concurrency, () => recoveryCodes.consume(id, set[0]!));
        expect(countTrue(results)).toBe(1);
        expect(results.every((result) => typeof result === 'boolean')).toBe(true);
        expect(await recoveryCodes.countUnused(id)).toBe(9);
      });

      contract(`concurrent consume: ${concurrency} parallel consumes of 10 different hashes, exactly 10 true`, async ({ recoveryCodes }) => {
        const set = hashes(10);
        await recoveryCodes.replace(id, set, nextGeneration());
        const each = Math.max(1, Math.floor(concurrency / set.length));
        const results = await parallel(each * set.length, (i) => recoveryCodes.consume(id, set[i % set.length]!));
        expect(countTrue(results)).toBe(10);
        for (const [h] of set.entries()) {
          expect(countTrue(results.filter((_, i) => i % set.length === h))).toBe(1);
        }
        expect(await recoveryCodes.countUnused(id)).toBe(0);
      });

      contract('replace kills the whole old set and resets the count', async ({ recoveryCodes }) => {
        const old = hashes(10);
        await recoveryCodes.replace(id, old, nextGeneration());
        expect(await recoveryCodes.consume(id, old[0]!)).toBe(true);
        const fresh = hashes(5);
        await recoveryCodes.replace(id, fresh, nextGeneration());
        expect(await recoveryCodes.countUnused(id)).toBe(5);
        for (const hash of old) expect(await recoveryCodes.consume(id, hash)).toBe(false);
        for (const hash of fresh) expect(await recoveryCodes.consume(id, hash)).toBe(true);
      });

      contract('replace stores every hash unused, even one that was used in the old set', async ({ recoveryCodes }) => {
        const set = hashes(3);
        await recoveryCodes.replace(id, set, nextGeneration());
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
        await recoveryCodes.replace(id, [set[0]!, randomHash()], nextGeneration());
        expect(await recoveryCodes.countUnused(id)).toBe(2);
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
        expect(await recoveryCodes.consume(id, set[1]!)).toBe(false);
      });

      contract('replace of an older generation arriving late is ignored: the newer set stays whole', async ({ recoveryCodes }) => {
        const older = hashes(3);
        const newer = hashes(4);
        const olderGeneration = nextGeneration();
        await recoveryCodes.replace(id, newer, nextGeneration());
        await recoveryCodes.replace(id, older, olderGeneration);
        expect(await recoveryCodes.countUnused(id)).toBe(4);
        expect(await recoveryCodes.consume(id, older[0]!)).toBe(false);
        expect(await recoveryCodes.consume(id, newer[0]!)).toBe(true);
      });

      contract('replace repeating the stored generation is ignored: used hashes stay used', async ({ recoveryCodes }) => {
        const set = hashes(3);
        const same = nextGeneration();
        await recoveryCodes.replace(id, set, same);
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
        await recoveryCodes.replace(id, set, same);
        expect(await recoveryCodes.countUnused(id)).toBe(2);
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(false);
      });

      contract('after clear, a replace of any generation applies', async ({ recoveryCodes }) => {
        const first = nextGeneration();
        await recoveryCodes.replace(id, hashes(2), nextGeneration());
        await recoveryCodes.clear(id);
        const set = hashes(3);
        await recoveryCodes.replace(id, set, first);
        expect(await recoveryCodes.countUnused(id)).toBe(3);
        expect(await recoveryCodes.consume(id, set[2]!)).toBe(true);
      });

      contract('concurrent replaces of different generations: the highest generation wins', async ({ recoveryCodes }) => {
        const base = nextGeneration();
        const sets = Array.from({ length: 20 }, () => hashes(2));
        for (let i = 0; i < sets.length; i++) nextGeneration();
        await parallel(sets.length, (i) => recoveryCodes.replace(id, sets[i]!, base + 1 + i));
        const winner = sets[sets.length - 1]!;
        expect(await recoveryCodes.countUnused(id)).toBe(2);
        expect(await recoveryCodes.consume(id, winner[0]!)).toBe(true);
        for (const set of sets.slice(0, -1)) expect(await recoveryCodes.consume(id, set[0]!)).toBe(false);
      });

      contract('replace with an empty array leaves a count of 0 and kills the old set', async ({ recoveryCodes }) => {
        const old = hashes(10);
        await recoveryCodes.replace(id, old, nextGeneration());
        await recoveryCodes.replace(id, [], nextGeneration());
        expect(await recoveryCodes.countUnused(id)).toBe(0);
        expect(await recoveryCodes.consume(id, old[0]!)).toBe(false);
      });

      contract('restore after consume makes the hash consumable again, exactly once', async ({ recoveryCodes }) => {
        const set = hashes(10);
        await recoveryCodes.replace(id, set, nextGeneration());
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
        await recoveryCodes.restore(id, set[0]!);
        expect(await recoveryCodes.countUnused(id)).toBe(10);
        const results = await parallel(concurrency, () => recoveryCodes.consume(id, set[0]!));
        expect(countTrue(results)).toBe(1);
        expect(await recoveryCodes.countUnused(id)).toBe(9);
      });

      contract('restore twice counts once', async ({ recoveryCodes }) => {
        const set = hashes(2);
        await recoveryCodes.replace(id, set, nextGeneration());
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
        await recoveryCodes.restore(id, set[0]!);
        await recoveryCodes.restore(id, set[0]!);
        expect(await recoveryCodes.countUnused(id)).toBe(2);
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(false);
      });

      contract('restore of an unused, unknown or unknown-user hash is a no-op', async ({ recoveryCodes }) => {
        const set = hashes(2);
        await recoveryCodes.replace(id, set, nextGeneration());
        await recoveryCodes.restore(id, set[0]!);
        expect(await recoveryCodes.countUnused(id)).toBe(2);
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
        expect(await recoveryCodes.consume(id, set[0]!)).toBe(false);

        const unknown = randomHash();
        await recoveryCodes.restore(id, unknown);
        expect(await recoveryCodes.countUnused(id)).toBe(1);
        expect(await recoveryCodes.consume(id, unknown)).toBe(false);

        await recoveryCodes.restore('unknown-user', unknown);
        expect(await recoveryCodes.countUnused('unknown-user')).toBe(0);
        expect(await recoveryCodes.consume('unknown-user', unknown)).toBe(false);
      });

      contract('restore never brings back a hash of a replaced or cleared set', async ({ recoveryCodes }) => {
        const old = hashes(3);
        await recoveryCodes.replace(id, old, nextGeneration());
        expect(await recoveryCodes.consume(id, old[0]!)).toBe(true);
        await recoveryCodes.replace(id, hashes(2), nextGeneration());
        await recoveryCodes.restore(id, old[0]!);
        expect(await recoveryCodes.countUnused(id)).toBe(2);
        expect(await recoveryCodes.consume(id, old[0]!)).toBe(false);

        const cleared = hashes(2);
        await recoveryCodes.replace('user-2', cleared, nextGeneration());
        expect(await recoveryCodes.consume('user-2', cleared[0]!)).toBe(true);
        await recoveryCodes.clear('user-2');
        await recoveryCodes.restore('user-2', cleared[0]!);
        expect(await recoveryCodes.countUnused('user-2')).toBe(0);
        expect(await recoveryCodes.consume('user-2', cleared[0]!)).toBe(false);
      });

      contract('clear leaves a count of 0 and nothing consumable; a new set works after it', async ({ recoveryCodes }) => {
        const set = hashes(10);
        await recoveryCodes.replace(id, set, nextGeneration());
        await recoveryCodes.clear(id);
        expect(await recoveryCodes.countUnused(id)).toBe(0);
        for (const hash of set) expect(await recoveryCodes.consume(id, hash)).toBe(false);
        await recoveryCodes.clear(id);
        await recoveryCodes.clear('unknown-user');
        expect(await recoveryCodes.countUnused('unknown-user')).toBe(0);
        const fresh = hashes(2);
        await recoveryCodes.replace(id, fresh, nextGeneration());
        expect(await recoveryCodes.countUnused(id)).toBe(2);
        expect(await recoveryCodes.consume(id, fresh[1]!)).toBe(true);
      });

      contract('two users holding the same hash are independent', async ({ recoveryCodes }) => {
        const shared = randomHash();
        await recoveryCodes.replace('alice', [shared, randomHash()], nextGeneration());
        await recoveryCodes.replace('bob', [shared], nextGeneration());
        expect(await recoveryCodes.consume('alice', shared)).toBe(true);
        expect(await recoveryCodes.countUnused('bob')).toBe(1);
        expect(await recoveryCodes.consume('bob', shared)).toBe(true);
        await recoveryCodes.restore('alice', shared);
        expect(await recoveryCodes.countUnused('alice')).toBe(2);
        expect(await recoveryCodes.countUnused('bob')).toBe(0);
        await recoveryCodes.clear('alice');
        await recoveryCodes.restore('bob', shared);
        expect(await recoveryCodes.countUnused('bob')).toBe(1);
        expect(await recoveryCodes.consume('bob', shared)).toBe(true);
      });

      contract('replace and clear touch only their own user', async ({ recoveryCodes }) => {
        const bob = hashes(4);
        await recoveryCodes.replace('alice', hashes(3), nextGeneration());
        await recoveryCodes.replace('bob', bob, nextGeneration());
        await recoveryCodes.replace('alice', hashes(1), nextGeneration());
        await recoveryCodes.clear('alice');
        expect(await recoveryCodes.countUnused('bob')).toBe(4);
        expect(await recoveryCodes.consume('bob', bob[0]!)).toBe(true);
      });

      contract(`concurrent replaces (${concurrency}) leave exactly one whole set, never a mix`, async ({ recoveryCodes }) => {
        const sets = Array.from({ length: concurrency }, (_, i) => hashes((i % 5) + 1));
        await parallel(concurrency, (i) => recoveryCodes.replace(id, sets[i]!, nextGeneration()));
        const count = await recoveryCodes.countUnused(id);
        const live: number[] = [];
        for (const [i, set] of sets.entries()) {
          if (await recoveryCodes.consume(id, set[0]!)) live.push(i);
        }
        expect(live).toHaveLength(1);
        const winner = sets[live[0]!]!;
        expect(count).toBe(winner.length);
        for (const hash of winner.slice(1)) expect(await recoveryCodes.consume(id, hash)).toBe(true);
        expect(await recoveryCodes.countUnused(id)).toBe(0);
      });

      contract('replace racing consumes of the old set ends with exactly the new set, all unused', async ({ recoveryCodes }) => {
        const old = hashes(10);
        const fresh = hashes(10);
        await recoveryCodes.replace(id, old, nextGeneration());
        await Promise.all([
          ...old.map((hash) => recoveryCodes.consume(id, hash)),
          recoveryCodes.replace(id, fresh, nextGeneration()),
          ...old.map((hash) => recoveryCodes.consume(id, hash)),
        ]);
        expect(await recoveryCodes.countUnused(id)).toBe(10);
        for (const hash of old) expect(await recoveryCodes.consume(id, hash)).toBe(false);
        for (const hash of fresh) expect(await recoveryCodes.consume(id, hash)).toBe(true);
      });

      contract('awkward user ids each keep their own set', async ({ recoveryCodes }) => {
        const sets = awkwardUserIds.map((_, i) => hashes((i % 3) + 1));
        for (const [i, userId] of awkwardUserIds.entries()) await recoveryCodes.replace(userId, sets[i]!, nextGeneration());
        for (const [i, userId] of awkwardUserIds.entries()) {
          expect(await recoveryCodes.countUnused(userId), `user id #${i}`).toBe(sets[i]!.length);
          const neighbour = sets[(i + 1) % sets.length]!;
          expect(await recoveryCodes.consume(userId, neighbour[0]!), `user id #${i}`).toBe(false);
          expect(await recoveryCodes.consume(userId, sets[i]![0]!), `user id #${i}`).toBe(true);
        }
        for (const [i, userId] of awkwardUserIds.entries()) {
          expect(await recoveryCodes.countUnused(userId), `user id #${i}`).toBe(sets[i]!.length - 1);
        }
        for (const userId of ['use', 'u%', 'user\u0000\u0000', 'uSer', '**']) {
          expect(await recoveryCodes.countUnused(userId)).toBe(0);
        }
      });
    });

    describe('MfaService over the adapter', () => {
      const START = 1_700_000_000_000;
      const STEP_MS = 30_000;

      function service(stores: Stores) {
        let now = START;
        const mfa = new MfaService({
          issuer: 'Conformance',
          secretKey: randomBytes(32),
          users: stores.users,
          recoveryCodes: stores.recoveryCodes,
          now: () => now,
        });
        return {
          mfa,
          now: () => now,
          advance(ms: number) {
            now += ms;
          },
          totp: (secret: string) => generateTotp(secret, { now }),
        };
      }

      /** Enroll and reveal codes, then move to the next time step so a fresh code is usable. */
      async function enroll(s: ReturnType<typeof service>, userId: string): Promise<{ secret: string; codes: string[] }> {
        const begun = await s.mfa.beginEnrollment(userId, { accountName: 'alice@example.com' });
        if (!begun.ok) throw new Error(`beginEnrollment failed: ${begun.reason}`);
        expect(await s.mfa.confirmEnrollment(userId, s.totp(begun.secret))).toMatchObject({ ok: true });
        const revealed = await s.mfa.revealRecoveryCodes(userId);
        if (!revealed.ok) throw new Error(`revealRecoveryCodes failed: ${revealed.reason}`);
        s.advance(STEP_MS);
        return { secret: begun.secret, codes: revealed.codes };
      }

      async function challenge(s: ReturnType<typeof service>, userId: string): Promise<string> {
        const started = await s.mfa.startLogin(userId);
        if (!started.ok || !started.mfaRequired) throw new Error('startLogin did not issue a challenge');
        return started.challenge;
      }

      contract('a key rotation over the adapter: rekeyAll moves every user to the new key, reports who must act, and then the old key can go', async (stores) => {
        const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
        let now = START;
        const make = (secretKey: Uint8Array, previousSecretKeys: Uint8Array[] = []) =>
          new MfaService({ issuer: 'Conformance', secretKey, previousSecretKeys, users: stores.users, recoveryCodes: stores.recoveryCodes, now: () => now });
        const before = make(oldKey);
        const totp = (secret: string) => generateTotp(secret, { now });
        // Under the old key: alice revealed her codes, bob did not, carol is enrolling.
        const secrets: Record<string, string> = {};
        for (const userId of ['alice', 'bob', 'carol']) {
          const begun = await before.beginEnrollment(userId, { accountName: `${userId}@example.com` });
          if (!begun.ok) throw new Error(`beginEnrollment failed: ${begun.reason}`);
          secrets[userId] = begun.secret;
          if (userId !== 'carol') expect(await before.confirmEnrollment(userId, totp(begun.secret))).toMatchObject({ ok: true });
        }
        const aliceCodes = await before.revealRecoveryCodes('alice');
        if (!aliceCodes.ok) throw new Error('reveal failed');
        now += STEP_MS;

        const rotated = make(newKey, [oldKey]);
        const walkUsers = stores.users.scan ? { users: stores.users } : { userIds: ['alice', 'bob', 'carol'] };
        const first = await rekeyAll({ service: rotated, ...walkUsers, limit: 2 });
        // Only alice's revealed codes still need the old key: they are hashes, only she can replace them.
        expect(first).toMatchObject({ users: 3, resealed: 4, needsUser: { recovery_codes: 1, totp: 0 }, unnamed: 0 });
        expect(first.dependsOn).toEqual({ [secretKeyId(oldKey)]: 1 });
        expect((await rotated.status('alice')).attention).toContain('recovery_codes_rekey');
        // alice is told, and regenerates.
        expect(await rotated.regenerateRecoveryCodes('alice', { totp: totp(secrets.alice!) })).toMatchObject({ ok: true });
        const fresh = await rotated.revealRecoveryCodes('alice');
        if (!fresh.ok) throw new Error('reveal failed');
        const second = await rekeyAll({ service: rotated, ...walkUsers });
        expect(second).toEqual({ users: 3, resealed: 0, needsUser: { recovery_codes: 0, totp: 0 }, dependsOn: {}, unnamed: 0 });

        // The old key goes: everyone still logs in, with the app and with codes.
        const after = make(newKey);
        now += STEP_MS;
        expect(await after.confirmEnrollment('carol', totp(secrets.carol!))).toMatchObject({ ok: true });
        const bobCodes = await after.revealRecoveryCodes('bob');
        if (!bobCodes.ok) throw new Error('reveal failed');
        now += STEP_MS;
        for (const [userId, code] of [['alice', fresh.codes[0]!], ['bob', bobCodes.codes[0]!]] as const) {
          const started = await after.startLogin(userId);
          if (!started.ok || !started.mfaRequired) throw new Error('startLogin did not issue a challenge');
          expect(await after.verifyLogin(started.challenge, { totp: totp(secrets[userId]!) })).toMatchObject({ ok: true });
          const again = await after.startLogin(userId);
          if (!again.ok || !again.mfaRequired) throw new Error('startLogin did not issue a challenge');
          expect(await after.verifyLogin(again.challenge, { recoveryCode: code })).toMatchObject({ ok: true, method: 'recovery_code' });
        }
      });

      contract('enrollment is confirmed with the first TOTP code; codes are revealed once and held by the stores', async (stores) => {
        const s = service(stores);
        const userId = 'alice';
        expect(await s.mfa.startLogin(userId)).toEqual({ ok: true, mfaRequired: false });
        const begun = await s.mfa.beginEnrollment(userId, { accountName: 'alice@example.com' });
        expect(begun.ok).toBe(true);
        if (!begun.ok) return;
        expect((await s.mfa.status(userId)).state).toBe('enrolling');
        expect(await s.mfa.confirmEnrollment(userId, s.totp(begun.secret))).toMatchObject({ ok: true });

        const revealed = await s.mfa.revealRecoveryCodes(userId);
        expect(revealed.ok).toBe(true);
        expect(revealed.ok && revealed.codes).toHaveLength(10);
        expect(await s.mfa.revealRecoveryCodes(userId)).toEqual({ ok: false, reason: 'already_revealed' });

        const stored = await stores.users.get(userId);
        expect(stored?.record).toMatchObject({ schema: 2, factors: [{ kind: 'totp' }], unrevealedCodes: null });
        expect(JSON.stringify(stored)).not.toContain(begun.secret);
        expect(await stores.recoveryCodes.countUnused(userId)).toBe(10);
        expect(await s.mfa.status(userId)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10 });
        expect((await s.mfa.startLogin(userId)).mfaRequired).toBe(true);
      });

      contract('login with TOTP succeeds; the same code is then refused as replayed', async (stores) => {
        const s = service(stores);
        const { secret } = await enroll(s, 'alice');
        const code = s.totp(secret);
        const [factor] = await s.mfa.listFactors('alice');
        expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { totp: code })).toEqual({
          ok: true,
          userId: 'alice',
          method: 'totp',
          factorId: factor!.id,
          recoveryCodesRemaining: 10,
        });
        expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { totp: code })).toMatchObject({ ok: false, reason: 'replayed' });
        s.advance(STEP_MS);
        expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { totp: s.totp(secret) })).toMatchObject({ ok: true });
      });

      contract('login with a recovery code consumes exactly that code; reusing it is refused', async (stores) => {
        const s = service(stores);
        const { codes } = await enroll(s, 'alice');
        expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { recoveryCode: codes[0]! })).toEqual({
          ok: true,
          userId: 'alice',
          method: 'recovery_code',
          recoveryCodesRemaining: 9,
        });
        expect(await stores.recoveryCodes.countUnused('alice')).toBe(9);
        expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { recoveryCode: codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
        expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { recoveryCode: codes[1]!.toLowerCase() })).toMatchObject({
          ok: true,
          recoveryCodesRemaining: 8,
        });
      });

      contract(`${concurrency} parallel verifyLogin of one TOTP code on ${concurrency} challenges: exactly one success`, async (stores) => {
        const s = service(stores);
        const { secret } = await enroll(s, 'alice');
        const challenges = await parallel(concurrency, () => challenge(s, 'alice'));
        const code = s.totp(secret);
        const results = await parallel(concurrency, (i) => s.mfa.verifyLogin(challenges[i]!, { totp: code }));
        expect(results.filter((result) => result.ok)).toHaveLength(1);
        for (const result of results) {
          if (!result.ok) expect(['replayed', 'locked']).toContain(result.reason);
        }
        expect(((await stores.users.get('alice'))?.record as MfaRecord).factors[0]).toMatchObject({ lastStep: Math.floor(s.now() / STEP_MS) });
      });

      contract(`${concurrency} parallel verifyLogin of one recovery code: exactly one success, exactly one code spent`, async (stores) => {
        const s = service(stores);
        const { codes } = await enroll(s, 'alice');
        const challenges = await parallel(concurrency, () => challenge(s, 'alice'));
        const results = await parallel(concurrency, (i) => s.mfa.verifyLogin(challenges[i]!, { recoveryCode: codes[0]! }));
        expect(results.filter((result) => result.ok)).toHaveLength(1);
        for (const result of results) {
          if (!result.ok) expect(['invalid_code', 'locked']).toContain(result.reason);
        }
        expect(await stores.recoveryCodes.countUnused('alice')).toBe(codes.length - 1);
        // The spent code stays spent.
        await s.mfa.unlock('alice');
        const again = await s.mfa.verifyLogin(await challenge(s, 'alice'), { recoveryCode: codes[0]! });
        expect(again).toMatchObject({ ok: false, reason: 'invalid_code' });
      });

      contract('disable with a TOTP code removes the factor and every recovery code', async (stores) => {
        const s = service(stores);
        const { secret, codes } = await enroll(s, 'alice');
        expect(await s.mfa.disable('alice', { totp: s.totp(secret) })).toEqual({ ok: true, method: 'totp' });
        expect(await s.mfa.status('alice')).toMatchObject({ state: 'registered', recoveryCodesRemaining: 0 });
        expect(await stores.recoveryCodes.countUnused('alice')).toBe(0);
        expect((await stores.users.get('alice'))?.record).toMatchObject({ schema: 2, factors: [], pendingTotp: null, unrevealedCodes: null });
        expect(await s.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
        s.advance(STEP_MS);
        expect(await s.mfa.disable('alice', { recoveryCode: codes[1]! })).toEqual({ ok: false, reason: 'not_enrolled' });
      });

      contract('users whose ids differ only by a NUL, case or SQL quoting never share a factor', async (stores) => {
        const s = service(stores);
        const ids = ['user', 'user\u0000', 'User', "'; DROP TABLE users; --", 'émoji 🔐👩‍💻'];
        const secrets: string[] = [];
        for (const userId of ids) {
          const begun = await s.mfa.beginEnrollment(userId, { accountName: 'someone' });
          if (!begun.ok) throw new Error(`beginEnrollment failed: ${begun.reason}`);
          expect(await s.mfa.confirmEnrollment(userId, s.totp(begun.secret))).toMatchObject({ ok: true });
          secrets.push(begun.secret);
        }
        expect(await s.mfa.status('USER')).toMatchObject({ state: 'registered' });
        s.advance(STEP_MS);
        for (const [i, userId] of ids.entries()) {
          const own = s.totp(secrets[i]!);
          const other = s.totp(secrets[(i + 1) % ids.length]!);
          if (other !== own) {
            expect(await s.mfa.verifyLogin(await challenge(s, userId), { totp: other })).toMatchObject({ ok: false, reason: 'invalid_code' });
          }
          const result = await s.mfa.verifyLogin(await challenge(s, userId), { totp: own });
          expect(result).toMatchObject({ ok: true, method: 'totp' });
          expect(result.ok && result.userId).toBe(userId);
        }
      });

      /**
       * A user whose only factor is a security key (an ES256 key made here),
       * written straight into the record: the registration ceremony is the
       * plugin's business, not the store's, and needs no optional peer here.
       * Returns the service with the WebAuthn plugin and a signer of assertions.
       */
      async function webAuthnUser(stores: Stores, userId: string) {
        const { createHash, generateKeyPairSync, sign } = await import('node:crypto');
        const { webauthn } = await import('../webauthn/index.ts');
        const RP_ID = 'example.com';
        const ORIGIN = 'https://example.com';
        const now = START;
        const mfa = new MfaService({
          issuer: 'Conformance',
          secretKey: randomBytes(32),
          users: stores.users,
          recoveryCodes: stores.recoveryCodes,
          now: () => now,
          webauthn: webauthn({ rpId: RP_ID, rpName: 'Conformance', origins: [ORIGIN] }),
          lockout: { maxFailures: 100, hardLimit: 100 },
        });
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const jwk = publicKey.export({ format: 'jwk' });
        // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
        const cose = Buffer.concat([
          Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]),
          Buffer.from(jwk.x!, 'base64url'),
          Buffer.from([0x22, 0x58, 0x20]),
          Buffer.from(jwk.y!, 'base64url'),
        ]);
        const credentialId = randomBytes(32).toString('base64url');
        const factorId = 'conformance-key';
        const record: MfaRecord = {
          ...blankRecord(),
          factors: [
            {
              id: factorId,
              kind: 'webauthn',
              label: 'Security key',
              createdAt: now,
              lastUsedAt: null,
              credentialId,
              publicKey: cose.toString('base64url'),
              signCount: 1,
              transports: ['usb'],
              backupEligible: false,
              backedUp: false,
            },
          ],
          webauthnUserHandle: randomBytes(32).toString('base64url'),
          enabledAt: now,
        };
        expect(await stores.users.put(userId, record, null)).toBe(true);
        const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest();
        /** A valid assertion by the key for a login challenge, with signature counter `counter`. */
        const assertion = (webauthnChallenge: string, counter: number) => {
          const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: webauthnChallenge, origin: ORIGIN, crossOrigin: false }));
          const count = Buffer.alloc(4);
          count.writeUInt32BE(counter);
          const authenticatorData = Buffer.concat([sha256(RP_ID), Buffer.from([0x05]), count]); // UP | UV
          const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), { key: privateKey, dsaEncoding: 'der' });
          return {
            id: credentialId,
            rawId: credentialId,
            type: 'public-key' as const,
            response: {
              clientDataJSON: clientDataJSON.toString('base64url'),
              authenticatorData: authenticatorData.toString('base64url'),
              signature: signature.toString('base64url'),
            },
            clientExtensionResults: {},
          };
        };
        const start = async () => {
          const started = await mfa.startLogin(userId);
          if (!started.ok || !started.mfaRequired || !started.webauthn) throw new Error('startLogin did not issue a WebAuthn challenge');
          return { challenge: started.challenge, webauthnChallenge: started.webauthn.challenge };
        };
        const storedKey = async () => ((await stores.users.get(userId))?.record as MfaRecord).factors.find((f) => f.id === factorId);
        return { mfa, factorId, assertion, start, storedKey };
      }

      contract(`${concurrency} parallel verifyLogin of one WebAuthn assertion on one challenge: exactly one success, its counter stored`, async (stores) => {
        const key = await webAuthnUser(stores, 'alice');
        const { challenge, webauthnChallenge } = await key.start();
        const proof = { webauthn: key.assertion(webauthnChallenge, 5) };
        const results = await parallel(concurrency, () => key.mfa.verifyLogin(challenge, proof));
        expect(results.filter((result) => result.ok)).toEqual([
          { ok: true, userId: 'alice', method: 'webauthn', factorId: key.factorId, recoveryCodesRemaining: 0 },
        ]);
        // The challenge is spent by the success: every other call is refused without counting a failure.
        for (const result of results) if (!result.ok) expect(result.reason).toBe('challenge_invalid');
        expect(await key.storedKey()).toMatchObject({ kind: 'webauthn', signCount: 5 });
        expect((await stores.users.get('alice'))?.record).toMatchObject({ failures: 0 });
      });

      contract(`a cloned key: ${concurrency} parallel verifyLogin, each on its own challenge with the same counter, exactly one success`, async (stores) => {
        const key = await webAuthnUser(stores, 'alice');
        const challenges = await parallel(concurrency, () => key.start());
        const results = await parallel(concurrency, (i) =>
          key.mfa.verifyLogin(challenges[i]!.challenge, { webauthn: key.assertion(challenges[i]!.webauthnChallenge, 9) }),
        );
        expect(results.filter((result) => result.ok)).toHaveLength(1);
        // After the success the counter did not increase: refused (counted), or locked once the refusals add up.
        for (const result of results) if (!result.ok) expect(['invalid_credential', 'locked']).toContain(result.reason);
        expect(await key.storedKey()).toMatchObject({ kind: 'webauthn', signCount: 9 });
        const refused = results.filter((result) => !result.ok && result.reason === 'invalid_credential').length;
        expect(refused).toBe(Math.min(concurrency - 1, 99));
      });

      contract(`${concurrency} parallel startLogin with one remembered-device token: exactly one skips the second factor with a new token; after the grace the old token forgets the device once`, async (stores) => {
        let now = START;
        const events: Array<{ type: string; cause?: string }> = [];
        const mfa = new MfaService({
          issuer: 'Conformance',
          secretKey: randomBytes(32),
          users: stores.users,
          recoveryCodes: stores.recoveryCodes,
          now: () => now,
          onEvent: (event) => {
            events.push(event);
          },
        });
        const begun = await mfa.beginEnrollment('alice', { accountName: 'alice@example.com' });
        if (!begun.ok) throw new Error(`beginEnrollment failed: ${begun.reason}`);
        expect(await mfa.confirmEnrollment('alice', generateTotp(begun.secret, { now }))).toMatchObject({ ok: true });
        now += STEP_MS;
        const started = await mfa.startLogin('alice');
        if (!started.ok || !started.mfaRequired) throw new Error('startLogin did not issue a challenge');
        const verified = await mfa.verifyLogin(started.challenge, { totp: generateTotp(begun.secret, { now }) }, { rememberDevice: { label: 'Firefox — « maison »' } });
        if (!verified.ok || !verified.device) throw new Error('verifyLogin did not remember the device');
        const { id, token } = verified.device;
        expect(await mfa.listDevices('alice')).toMatchObject([{ id, label: 'Firefox — « maison »' }]);
        expect(JSON.stringify(await stores.users.get('alice'))).not.toContain(token);

        const results = await parallel(concurrency, () => mfa.startLogin('alice', { deviceToken: token }));
        const skipped = results.filter((result) => result.ok && !result.mfaRequired);
        expect(skipped).toHaveLength(1);
        const rotated = (skipped[0] as { rememberedDevice?: { id: string; token: string } }).rememberedDevice;
        expect(rotated?.id).toBe(id);
        expect(typeof rotated?.token).toBe('string');
        expect(rotated!.token).not.toBe(token);
        // Every other call found the token rotated away a moment ago: a normal challenge, no alarm.
        for (const result of results) if (result !== skipped[0]) expect(result).toMatchObject({ ok: true, mfaRequired: true, challenge: expect.any(String) });
        expect(events.filter((e) => e.type === 'device.token_reused')).toEqual([]);
        expect((await mfa.listDevices('alice')).map((d) => d.id)).toEqual([id]);
        expect(await mfa.startLogin('alice', { deviceToken: rotated!.token })).toMatchObject({ ok: true, mfaRequired: false, rememberedDevice: { id } });

        // Later than the grace (60 s) the old token is a copy: the device is forgotten, once.
        now += 60_001;
        const reused = await parallel(Math.min(concurrency, 20), () => mfa.startLogin('alice', { deviceToken: token }));
        for (const result of reused) expect(result).toMatchObject({ ok: true, mfaRequired: true });
        expect(events.filter((e) => e.type === 'device.token_reused')).toHaveLength(1);
        expect(events.filter((e) => e.type === 'device.forgotten')).toMatchObject([{ cause: 'token_reused' }]);
        expect(await mfa.listDevices('alice')).toEqual([]);
        expect(((await stores.users.get('alice'))?.record as MfaRecord).devices).toEqual([]);
      });
    });
  });
}
