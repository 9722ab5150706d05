/**
 * The 0.1.0 fixtures (test/fixtures/v0.1.0, written by
 * scripts/make-v010-fixtures.ts) and their loaders: each store of the
 * CURRENT code gets back, byte for byte, what 0.1.0 persisted, and reads
 * those records as `schema: 1`. How the service upgrades them is tested
 * elsewhere; this file only proves the restored state is 0.1.0's.
 */
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryRecoveryCodeStore, MemoryUserStore, type RecoveryCodeStore, type UserStore } from 'twofold';
import { PostgresRecoveryCodeStore, PostgresUserStore } from 'twofold/adapters/postgres';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import { postgresSkipReason, redisSkipReason } from '../support/services.ts';
import {
  dumpPostgres,
  dumpRedis,
  loadV010Fixture,
  rebaseRedisKeys,
  restoreMemory,
  restorePostgres,
  restoreRedis,
  V010_USER_LABELS,
  type FixtureKind,
  type V010Fixture,
} from '../support/v010-fixtures.ts';
import { createPool, dropSchema, freshSchemaName } from './postgres-stores.ts';
import { connect, deleteKeys, freshPrefix } from './redis-stores.ts';

const pgSkip = await postgresSkipReason();
const redisSkip = await redisSkipReason();

const KINDS: FixtureKind[] = ['memory', 'postgres', 'redis'];

/** Each user's set as the fixture says the store holds it, from whichever raw form the fixture has. */
function expectedSets(fixture: V010Fixture): Map<string, { hashes: string[]; used: boolean[] }> {
  const sets = new Map<string, { hashes: string[]; used: boolean[] }>();
  if (fixture.kind === 'memory') {
    for (const set of fixture.memory.recoveryCodes) sets.set(set.userId, { hashes: set.hashes.map((h) => h.hash), used: set.hashes.map((h) => h.used) });
  } else if (fixture.kind === 'postgres') {
    for (const row of fixture.postgres.twofold_recovery_codes) {
      sets.set(fixture.postgres.userIdsByKey[row.user_key]!, { hashes: row.hashes, used: row.used_at.map((t) => t !== null) });
    }
  } else {
    for (const dump of fixture.redis.keys) {
      const fields = (dump.hash ?? []).filter(([field]) => field !== 'g') as Array<[string, string]>;
      if (!String(dump.key).includes(':codes:{')) continue;
      sets.set(fixture.redis.userIdsByKey[dump.key as string]!, { hashes: fields.map(([f]) => f), used: fields.map(([, v]) => v !== '0') });
    }
  }
  return sets;
}

/**
 * The current stores read every user's record as the fixture holds it (same
 * JSON, same version, `schema: 1`), and the code store agrees with the
 * fixture: counts, used hashes refused, unused ones accepted (and restored).
 */
async function expectStoresHoldFixture(fixture: V010Fixture, users: UserStore, codes: RecoveryCodeStore, rawRecord: (userId: string) => { json: string; version: number }) {
  const sets = expectedSets(fixture);
  for (const label of V010_USER_LABELS) {
    const { userId } = fixture.users[label];
    const stored = await users.get(userId);
    const raw = rawRecord(userId);
    expect(stored, label).not.toBeNull();
    expect(stored!.record.schema, label).toBe(1);
    expect(JSON.stringify(stored!.record), label).toBe(raw.json);
    expect(stored!.version, label).toBe(raw.version);

    const set = sets.get(userId);
    const unused = set ? set.used.filter((used) => !used).length : 0;
    expect(await codes.countUnused(userId), label).toBe(unused);
    for (const [i, hash] of (set?.hashes ?? []).entries()) {
      const consumed = await codes.consume(userId, hash);
      expect(consumed, `${label} hash ${i}`).toBe(!set!.used[i]);
      if (consumed) await codes.restore(userId, hash);
    }
    expect(await codes.countUnused(userId), label).toBe(unused);
  }
}

describe('0.1.0 fixtures', () => {
  it.each(KINDS)('%s: written by 0.1.0 with the same key and clock, every user in the state its story tells', (kind) => {
    const fixture = loadV010Fixture(kind);
    expect(fixture.kind).toBe(kind);
    expect(fixture.commit).toMatch(/^0c710b8[0-9a-f]{33}$/);
    expect(fixture.rootKey).toBe('5a'.repeat(32));
    expect(fixture.now).toBe(Date.UTC(2026, 0, 15, 12, 0, 5));
    expect(Object.keys(fixture.users).sort()).toEqual([...V010_USER_LABELS].sort());
    const state = (label: keyof typeof fixture.users) => fixture.users[label].statusAtNow.state;
    expect(V010_USER_LABELS.map((label) => [label, state(label)])).toEqual([
      ['alice', 'enabled'],
      ['bob', 'enabled'],
      ['carol', 'enrolling'],
      ['dave', 'locked'],
      ['erin', 'enabled'],
      ['frank', 'registered'],
      ['obrien', 'enabled'],
    ]);
    const { alice, bob, erin, obrien } = fixture.users;
    expect(alice.recoveryCodes).toHaveLength(10);
    expect(alice.recoveryCodes).toContain(alice.usedRecoveryCode);
    expect(bob.recoveryCodes).toBeNull();
    expect(bob.unrevealedCodes).toHaveLength(10);
    expect(erin.emailToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(obrien.userId).toBe("o'brien \u0000 🔐");
  });
});

describe('0.1.0 fixtures: memory', () => {
  it('restoreMemory puts every record, version and code set back into the current memory stores', async () => {
    const fixture = loadV010Fixture('memory');
    const users = new MemoryUserStore();
    const codes = new MemoryRecoveryCodeStore();
    await restoreMemory(users, codes, fixture);
    expect(users.size).toBe(fixture.memory.users.length);
    for (const entry of fixture.memory.users) {
      expect(await users.get(entry.userId), entry.label).toEqual({ record: entry.record, version: entry.version });
    }
    const byId = new Map(fixture.memory.users.map((entry) => [entry.userId, entry]));
    await expectStoresHoldFixture(fixture, users, codes, (userId) => byId.get(userId)!);
  });
});

describe.skipIf(pgSkip !== null)('0.1.0 fixtures: PostgreSQL', () => {
  let pool: pg.Pool | undefined;
  const schema = freshSchemaName();

  afterAll(async () => {
    if (pool) await dropSchema(pool, schema);
  });

  it('restorePostgres writes the raw rows back exactly, and the current stores read them as schema 1', async () => {
    const fixture = loadV010Fixture('postgres');
    pool = createPool({ max: 2 });
    await restorePostgres(pool, schema, fixture);
    const dump = await dumpPostgres(pool, schema);
    expect(dump.twofold_users).toEqual(fixture.postgres.twofold_users);
    expect(dump.twofold_recovery_codes).toEqual(fixture.postgres.twofold_recovery_codes);

    const rows = new Map(fixture.postgres.twofold_users.map((row) => [fixture.postgres.userIdsByKey[row.user_key]!, row]));
    await expectStoresHoldFixture(fixture, new PostgresUserStore(pool, { schema }), new PostgresRecoveryCodeStore(pool, { schema }), (userId) => {
      const row = rows.get(userId)!;
      return { json: row.record, version: Number(row.version) };
    });
    // The consume-and-restore round trips above leave the rows as they were, used_at included.
    expect(await dumpPostgres(pool, schema)).toEqual(dump);
  });
});

describe.skipIf(redisSkip !== null)('0.1.0 fixtures: Redis', () => {
  let client: Redis | undefined;
  const prefix = freshPrefix();

  afterAll(async () => {
    if (!client) return;
    await deleteKeys(client, prefix);
    await client.quit();
  });

  it('restoreRedis writes the raw keys back byte for byte, and the current stores read them as schema 1', async () => {
    const fixture = loadV010Fixture('redis');
    client = connect();
    const written = await restoreRedis(client, prefix, fixture);
    expect(written).toHaveLength(fixture.redis.keys.length);
    const expected = rebaseRedisKeys(fixture.redis.keys, fixture.redis.keyPrefix, prefix);
    expect(await dumpRedis(client, prefix)).toEqual(expected);

    const userKeys = new Map(
      fixture.redis.keys.filter((dump) => String(dump.key).includes(':user:{')).map((dump) => [fixture.redis.userIdsByKey[dump.key as string]!, dump]),
    );
    const field = (userId: string, name: string) => userKeys.get(userId)!.hash!.find(([f]) => f === name)![1] as string;
    await expectStoresHoldFixture(
      fixture,
      new RedisUserStore(client, { keyPrefix: prefix }),
      new RedisRecoveryCodeStore(client, { keyPrefix: prefix }),
      (userId) => ({ json: field(userId, 'r'), version: Number(field(userId, 'v')) }),
    );
    // A Redis consume marks a hash with a fresh id and the restore puts '0' back: only the code hashes' unused marks are rewritten, to the same '0'.
    expect(await dumpRedis(client, prefix)).toEqual(expected);
  });
});
