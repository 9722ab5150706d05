/**
 * The SQLite adapter: the conformance suite every adapter passes (on a
 * database file and in memory), what is particular to SQLite (key and
 * column layout, validation, the connection checks), hostile input through
 * MfaService, and migrate, including five processes migrating one file at
 * once. SQLite is embedded: nothing here ever skips.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMfaError, MfaService, type MfaRecord } from 'twofold';
import { migrate, migrationSql, SqliteRecoveryCodeStore, SqliteUserStore, type SqliteDatabase } from 'twofold/adapters/sqlite';
import { awkwardUserIds, runStoreConformance, sampleRecord } from 'twofold/testing';
import { codeAt, ok, SECOND, T0 } from '../service/fixtures.ts';
import { MALFORMED_HASHES } from './malformed-hashes.ts';
import { BAD_CURSORS, BAD_LIMITS } from './scan-arguments.ts';
import { freshDatabase, freshPath, open, removeFiles, runChild, storesOn } from './sqlite-stores.ts';

const hash = (): string => randomBytes(32).toString('hex');
const STEP = 30 * SECOND;
const SQLITE_MODULE = fileURLToPath(new URL('../../src/stores/sqlite/index.ts', import.meta.url));

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error;
  }
  return null;
}

async function expectMfaError(promise: Promise<unknown> | (() => unknown), code: string, message?: RegExp): Promise<void> {
  const error = await errorOf(promise);
  expect(isMfaError(error) && error.code, `expected MfaError ${code}, got ${String(error)}`).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
}

/** The names of the tables in `db`, sorted. */
function tablesOf(db: Database.Database): string[] {
  return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>).map((row) => row.name);
}

const TABLES = ['twofold_recovery_code_sets', 'twofold_recovery_codes', 'twofold_users'];

afterAll(() => {
  removeFiles();
});

// ---- conformance: a fresh file per test, and a fresh in-memory database per test ----

runStoreConformance({
  name: 'sqlite (database file, WAL)',
  makeStores: async () => {
    const { db } = await freshDatabase();
    return { ...storesOn(db), cleanup: async () => void db.close() };
  },
});

runStoreConformance({
  name: 'sqlite (:memory:)',
  makeStores: async () => {
    const db = new Database(':memory:');
    await migrate(db);
    return { ...storesOn(db), cleanup: async () => void db.close() };
  },
});

// ---- options and connection checks ----

const invalidPrefixes: unknown[] = [
  '',
  'Twofold_',
  'UPPER',
  '1abc',
  'has-dash',
  'has space',
  'a'.repeat(33),
  'sqlite_',
  'sqlite_twofold_',
  'x"; DROP TABLE twofold_users; --',
  "x'; DROP TABLE twofold_users; --",
  '"quoted"',
  'main.twofold_',
  '[bracket]',
  '`tick`',
  'émoji',
  'a\u0000b',
  'twofold_\n',
  42,
  null,
];

/** A connection that counts the statements it is asked to prepare, and prepares none. */
function spyDatabase(): { db: SqliteDatabase; prepared: string[] } {
  const prepared: string[] = [];
  return {
    prepared,
    db: {
      prepare: (sql: string) => {
        prepared.push(sql);
        throw new Error('no SQL expected');
      },
    },
  };
}

describe('SQLite adapter: options and connection checks', () => {
  it.each(invalidPrefixes.map((p) => [JSON.stringify(p), p]))('refuses tablePrefix %s with MfaError invalid_option, before any SQL', async (_, tablePrefix) => {
    const { db, prepared } = spyDatabase();
    const options = { tablePrefix } as { tablePrefix: string };
    await expectMfaError(() => new SqliteUserStore(db, options), 'invalid_option', /tablePrefix/);
    await expectMfaError(() => new SqliteRecoveryCodeStore(db, options), 'invalid_option', /tablePrefix/);
    await expectMfaError(migrate(db, options), 'invalid_option', /tablePrefix/);
    await expectMfaError(() => migrationSql(tablePrefix as string), 'invalid_option', /tablePrefix/);
    expect(prepared).toEqual([]);
  });

  it.each(['twofold_', 'a', '_', 'auth_', 'mfa2_', 'a'.repeat(32), 'sqlite', 'x_sqlite_'])('accepts tablePrefix %s and quotes the table names', async (tablePrefix) => {
    expect(migrationSql(tablePrefix)).toContain(`CREATE TABLE IF NOT EXISTS "${tablePrefix}users"`);
    const db = new Database(':memory:');
    try {
      await migrate(db, { tablePrefix });
      expect(tablesOf(db)).toEqual([`${tablePrefix}recovery_code_sets`, `${tablePrefix}recovery_codes`, `${tablePrefix}users`].sort());
      const { users } = storesOn(db, tablePrefix);
      expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    } finally {
      db.close();
    }
  });

  it.each([[null], [undefined], [{}], [{ prepare: 'SELECT 1' }], ['mfa.db'], [42]])('refuses a connection without prepare() (%s) with MfaError invalid_option', async (db) => {
    await expectMfaError(() => new SqliteUserStore(db as unknown as SqliteDatabase), 'invalid_option', /better-sqlite3/);
    await expectMfaError(() => new SqliteRecoveryCodeStore(db as unknown as SqliteDatabase), 'invalid_option', /better-sqlite3/);
    await expectMfaError(migrate(db as unknown as SqliteDatabase), 'invalid_option', /better-sqlite3/);
  });

  it('refuses a database file not in WAL mode, saying how to set it; accepts it once WAL is on', async () => {
    const db = open(freshPath(), { wal: false });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      const wal = /WAL mode.*journal_mode is delete.*journal_mode = WAL/;
      await expectMfaError(() => new SqliteUserStore(db), 'invalid_option', wal);
      await expectMfaError(() => new SqliteRecoveryCodeStore(db), 'invalid_option', wal);
      await expectMfaError(migrate(db), 'invalid_option', wal);
      expect(tablesOf(db)).toEqual([]);
      for (const mode of ['truncate', 'persist', 'memory']) {
        db.pragma('journal_mode = DELETE');
        expect(db.pragma(`journal_mode = ${mode}`, { simple: true })).toBe(mode);
        await expectMfaError(() => new SqliteUserStore(db), 'invalid_option', new RegExp(`journal_mode is ${mode}`));
      }
      db.pragma('journal_mode = WAL');
      await migrate(db);
      expect(await storesOn(db).users.put('alice', sampleRecord(), null)).toBe(true);
    } finally {
      db.close();
    }
  });

  it('refuses a database file whose connection has no busy timeout, saying how to set one', async () => {
    const path = freshPath();
    const db = open(path, { timeout: 0 });
    try {
      const timeout = /busy timeout.*timeout: 5000.*busy_timeout = 5000/;
      await expectMfaError(() => new SqliteUserStore(db), 'invalid_option', timeout);
      await expectMfaError(() => new SqliteRecoveryCodeStore(db), 'invalid_option', timeout);
      await expectMfaError(migrate(db), 'invalid_option', timeout);
      db.pragma('busy_timeout = 1000');
      await migrate(db);
      expect(new SqliteUserStore(db)).toBeInstanceOf(SqliteUserStore);
    } finally {
      db.close();
    }
  });

  it('refuses a read-only connection and a closed one', async () => {
    const { db, path } = await freshDatabase();
    const readonly = new Database(path, { readonly: true });
    try {
      await expectMfaError(() => new SqliteUserStore(readonly), 'invalid_option', /read-only/);
      await expectMfaError(() => new SqliteRecoveryCodeStore(readonly), 'invalid_option', /read-only/);
      await expectMfaError(migrate(readonly), 'invalid_option', /read-only/);
    } finally {
      readonly.close();
    }
    db.close();
    await expectMfaError(() => new SqliteUserStore(db), 'invalid_option', /closed/);
    await expectMfaError(() => new SqliteRecoveryCodeStore(db), 'invalid_option', /closed/);
    await expectMfaError(migrate(db), 'invalid_option', /closed/);
  });

  it('accepts in-memory and temporary databases, which need neither WAL nor a busy timeout', async () => {
    for (const db of [new Database(':memory:', { timeout: 0 }), new Database('', { timeout: 0 })]) {
      try {
        await migrate(db);
        const { users, recoveryCodes } = storesOn(db);
        const set = [hash()];
        expect(await users.put('alice', sampleRecord(), null)).toBe(true);
        await recoveryCodes.replace('alice', set, 1);
        expect(await recoveryCodes.consume('alice', set[0]!)).toBe(true);
      } finally {
        db.close();
      }
    }
  });

  it('never loads better-sqlite3 at run time: the adapter imports nothing from it', () => {
    const dir = fileURLToPath(new URL('../../src/stores/sqlite/', import.meta.url));
    for (const file of readdirSync(dir)) {
      const source = readFileSync(`${dir}${file}`, 'utf8');
      expect(source, file).not.toMatch(/^\s*import\s+(?!type\b)[^;]*from\s+['"]better-sqlite3['"]/m);
      expect(source, file).not.toMatch(/require\(\s*['"]better-sqlite3['"]\s*\)|import\(\s*['"]better-sqlite3['"]\s*\)/);
    }
  });
});

// ---- SQLite specifics ----

describe('SQLite adapter: stores', () => {
  let db: Database.Database;
  let users: SqliteUserStore;
  let codes: SqliteRecoveryCodeStore;

  beforeAll(async () => {
    ({ db } = await freshDatabase());
    ({ users, recoveryCodes: codes } = storesOn(db));
  });

  afterAll(() => {
    db.close();
  });

  it.each([...BAD_LIMITS.map(([name, limit]) => [`page size ${name}`, limit, null]), ...BAD_CURSORS.map(([name, cursor]) => [`cursor ${name}`, 10, cursor])])(
    'scan refuses a %s with MfaError invalid_argument',
    async (_, limit, cursor) => {
      await expectMfaError(users.scan(cursor as string | null, limit as number), 'invalid_argument');
    },
  );

  const keyOf = (userId: string): Buffer => createHash('sha256').update(userId, 'utf8').digest();

  it('keys rows by SHA-256 of the UTF-8 user id, and keeps the record as its exact JSON text (escaped NUL included)', async () => {
    const userId = `key-${hash()}\u0000'; --`;
    const record = sampleRecord({ lockReason: 'nul \u0000 inside' });
    expect(await users.put(userId, record, null)).toBe(true);
    const rows = db.prepare(`SELECT user_key, record, version, typeof(version) AS type FROM twofold_users WHERE user_key = ?`).all(keyOf(userId)) as Array<{
      user_key: Buffer;
      record: string;
      version: number;
      type: string;
    }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.user_key.equals(keyOf(userId))).toBe(true);
    expect(rows[0]!.record).toBe(JSON.stringify(record));
    expect(rows[0]!.record).toContain('\\u0000');
    expect(rows[0]!.record).not.toContain('\u0000');
    expect(rows[0]!.version).toBe(1);
    expect(rows[0]!.type).toBe('integer');
  });

  it('returns version and countUnused as JS numbers, even when the host turned on safeIntegers', async () => {
    const { db: other } = await freshDatabase();
    try {
      other.defaultSafeIntegers(true);
      const { users: u, recoveryCodes: c } = storesOn(other);
      const userId = `numbers-${hash()}`;
      expect(await u.put(userId, sampleRecord(), null)).toBe(true);
      expect(await u.put(userId, sampleRecord(), 1)).toBe(true);
      expect(await u.get(userId)).toEqual({ record: sampleRecord(), version: 2 });
      expect(typeof (await u.get(userId))!.version).toBe('number');
      expect(await u.put(userId, sampleRecord({ failures: 1 }), 2)).toBe(true);
      await c.replace(userId, [hash(), hash()], Number.MAX_SAFE_INTEGER);
      expect(await c.countUnused(userId)).toBe(2);
      expect(typeof (await c.countUnused(userId))).toBe('number');
    } finally {
      other.close();
    }
  });

  it.each([[0], [-1], [1.5], [Number.NaN], [2 ** 53], ['1'], [Number.MAX_VALUE], [Infinity]])('put naming an impossible version (%s) is false and writes nothing', async (version) => {
    const userId = `version-${hash()}`;
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    expect(await users.put(userId, sampleRecord({ failures: 9 }), version as number)).toBe(false);
    expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
  });

  it('rejects a record JSON cannot encode (a BigInt) with a TypeError, and undefined with invalid_argument; stores nothing', async () => {
    const userId = `bigint-${hash()}`;
    const record = { ...sampleRecord(), failures: 1n } as unknown as MfaRecord;
    await expect(users.put(userId, record, null)).rejects.toThrow(TypeError);
    await expectMfaError(users.put(userId, undefined as unknown as MfaRecord, null), 'invalid_argument');
    expect(await users.get(userId)).toBeNull();
  });

  it('refuses a user id that is not well-formed UTF-16 (a lone surrogate) instead of colliding two ids', async () => {
    for (const userId of ['\uD800', 'a\uDC00b', 42 as unknown as string, null as unknown as string]) {
      await expectMfaError(users.get(userId), 'invalid_argument');
      await expectMfaError(users.put(userId, sampleRecord(), null), 'invalid_argument');
      await expectMfaError(codes.replace(userId, [hash()], 1), 'invalid_argument');
      await expectMfaError(codes.consume(userId, hash()), 'invalid_argument');
      await expectMfaError(codes.restore(userId, hash()), 'invalid_argument');
      await expectMfaError(codes.countUnused(userId), 'invalid_argument');
      await expectMfaError(codes.clear(userId), 'invalid_argument');
    }
  });

  const malformed: Array<[string, unknown]> = [
    ...MALFORMED_HASHES,
    ['SQL', `${'a'.repeat(60)}');--`],
    ['a SQL LIKE pattern', '%'.repeat(64)],
    ['a Buffer', Buffer.alloc(32)],
  ];

  it.each(malformed)('rejects a malformed hash (%s) with MfaError invalid_argument; the stored set stays whole', async (_, bad) => {
    const userId = `malformed-${hash()}`;
    const set = [hash(), hash()];
    await codes.replace(userId, set, 1);
    await expectMfaError(codes.replace(userId, [hash(), bad as string], 2), 'invalid_argument');
    await expectMfaError(codes.consume(userId, bad as string), 'invalid_argument');
    await expectMfaError(codes.restore(userId, bad as string), 'invalid_argument');
    expect(await codes.countUnused(userId)).toBe(2);
    expect(await codes.consume(userId, set[0]!)).toBe(true);
    // The refused replace did not take generation 2.
    const fresh = [hash()];
    await codes.replace(userId, fresh, 2);
    expect(await codes.consume(userId, fresh[0]!)).toBe(true);
  });

  it.each([[-1], [1.5], [Number.NaN], [2 ** 53], ['1'], [null]])('rejects a generation that is not a non-negative safe integer (%s)', async (bad) => {
    const userId = `generation-${hash()}`;
    await expectMfaError(codes.replace(userId, [hash()], bad as number), 'invalid_argument');
    await expectMfaError(codes.replace(userId, 'abc' as unknown as string[], 1), 'invalid_argument');
    expect(await codes.countUnused(userId)).toBe(0);
  });

  it('accepts the largest safe generation exactly, and keeps generations per user', async () => {
    const userId = `max-generation-${hash()}`;
    const set = [hash()];
    await codes.replace(userId, set, Number.MAX_SAFE_INTEGER);
    await codes.replace(userId, [hash()], Number.MAX_SAFE_INTEGER - 1);
    expect(await codes.consume(userId, set[0]!)).toBe(true);
    const row = db.prepare(`SELECT generation FROM twofold_recovery_code_sets WHERE user_key = ?`).safeIntegers(true).get(keyOf(userId)) as { generation: bigint };
    expect(row.generation).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    const other = `max-generation-other-${hash()}`;
    await codes.replace(other, [hash()], 0);
    expect(await codes.countUnused(other)).toBe(1);
  });

  it('keeps the order and duplicates of a set as the memory store does: a duplicated hash is consumed once', async () => {
    const userId = `duplicates-${hash()}`;
    const twice = hash();
    await codes.replace(userId, [twice, hash(), twice], 1);
    expect(await codes.countUnused(userId)).toBe(3);
    expect(await codes.consume(userId, twice)).toBe(true);
    expect(await codes.consume(userId, twice)).toBe(false);
    expect(await codes.countUnused(userId)).toBe(2);
    await codes.restore(userId, twice);
    expect(await codes.countUnused(userId)).toBe(3);
  });

  it('stores a set as rows in order, and records when each code was used', async () => {
    const userId = `used-at-${hash()}`;
    const set = [hash(), hash(), hash()];
    await codes.replace(userId, set, 7);
    const before = Date.now();
    await codes.consume(userId, set[1]!);
    const rows = db
      .prepare(`SELECT position, hex(hash) AS hash, used_at FROM twofold_recovery_codes WHERE user_key = ? ORDER BY position`)
      .all(keyOf(userId)) as Array<{ position: number; hash: string; used_at: number | null }>;
    expect(rows.map((row) => row.position)).toEqual([0, 1, 2]);
    expect(rows.map((row) => row.hash.toLowerCase())).toEqual(set);
    expect(rows.map((row) => row.used_at !== null)).toEqual([false, true, false]);
    expect(rows[1]!.used_at).toBeGreaterThanOrEqual(before);
    expect(rows[1]!.used_at).toBeLessThanOrEqual(Date.now());
    expect(db.prepare(`SELECT generation FROM twofold_recovery_code_sets WHERE user_key = ?`).get(keyOf(userId))).toEqual({ generation: 7 });
    await codes.clear(userId);
    expect(db.prepare(`SELECT count(*) AS n FROM twofold_recovery_codes WHERE user_key = ?`).get(keyOf(userId))).toEqual({ n: 0 });
    expect(db.prepare(`SELECT count(*) AS n FROM twofold_recovery_code_sets WHERE user_key = ?`).get(keyOf(userId))).toEqual({ n: 0 });
  });

  it('an empty set keeps its generation: an older replace after it is ignored', async () => {
    const userId = `empty-${hash()}`;
    await codes.replace(userId, [], 5);
    await codes.replace(userId, [hash()], 4);
    expect(await codes.countUnused(userId)).toBe(0);
    await codes.replace(userId, [hash()], 6);
    expect(await codes.countUnused(userId)).toBe(1);
  });

  it('stores with two table prefixes in one file share nothing', async () => {
    await migrate(db, { tablePrefix: 'other_' });
    const elsewhere = storesOn(db, 'other_');
    const userId = `two-prefixes-${hash()}`;
    const shared = hash();
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    await codes.replace(userId, [shared], 1);
    expect(await elsewhere.users.get(userId)).toBeNull();
    expect(await elsewhere.recoveryCodes.consume(userId, shared)).toBe(false);
    expect(await elsewhere.users.put(userId, sampleRecord({ failures: 3 }), null)).toBe(true);
    expect((await users.get(userId))?.record.failures).toBe(sampleRecord().failures);
    expect(tablesOf(db)).toEqual(['other_recovery_code_sets', 'other_recovery_codes', 'other_users', ...TABLES].sort());
  });

  it('a store made before migrate rejects with SQLite\'s error (never null, false or 0), and works once the tables exist', async () => {
    const early = open(freshPath());
    try {
      const { users: u, recoveryCodes: c } = storesOn(early);
      await expect(u.get('alice')).rejects.toThrow(/no such table/);
      await expect(u.put('alice', sampleRecord(), null)).rejects.toThrow(/no such table/);
      await expect(c.consume('alice', hash())).rejects.toThrow(/no such table/);
      await expect(c.countUnused('alice')).rejects.toThrow(/no such table/);
      await migrate(early);
      expect(await u.put('alice', sampleRecord(), null)).toBe(true);
      expect(await u.get('alice')).toEqual({ record: sampleRecord(), version: 1 });
      expect(await c.countUnused('alice')).toBe(0);
    } finally {
      early.close();
    }
  });

  it('works over any object with prepare(sql) whose statements have run and get', async () => {
    const prepared: string[] = [];
    const wrapper: SqliteDatabase = {
      prepare: (sql) => {
        prepared.push(sql);
        return db.prepare(sql);
      },
    };
    const u = new SqliteUserStore(wrapper);
    const c = new SqliteRecoveryCodeStore(wrapper);
    const userId = `wrapper-${hash()}`;
    const set = [hash(), hash()];
    expect(await u.put(userId, sampleRecord(), null)).toBe(true);
    expect(await u.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
    await c.replace(userId, set, 1);
    expect(await c.consume(userId, set[0]!)).toBe(true);
    expect(await c.countUnused(userId)).toBe(1);
    // Each statement is prepared once and reused.
    const count = prepared.length;
    await c.replace(userId, [hash()], 2);
    expect(await u.put(userId, sampleRecord(), 1)).toBe(true);
    expect(prepared.length).toBe(count);
    expect(prepared.every((sql) => !sql.includes(userId))).toBe(true);
  });

  it('a replace inside a transaction the host left open on the connection rejects and changes nothing', async () => {
    const userId = `host-transaction-${hash()}`;
    const set = [hash()];
    await codes.replace(userId, set, 1);
    db.exec('BEGIN');
    try {
      await expect(codes.replace(userId, [hash()], 2)).rejects.toThrow(/within a transaction/);
      await expect(codes.clear(userId)).rejects.toThrow(/within a transaction/);
      expect(db.inTransaction).toBe(true);
    } finally {
      db.exec('ROLLBACK');
    }
    expect(await codes.consume(userId, set[0]!)).toBe(true);
  });
});

// ---- hostile input through MfaService ----

const injections = [
  "'; DROP TABLE twofold_users; --",
  "'); DELETE FROM twofold_recovery_codes; --",
  '"; DROP TABLE "twofold_recovery_code_sets"; --',
  "x' OR '1'='1",
  '?; DELETE FROM twofold_users',
  ':user_key; VACUUM',
  '@a $b ?1 ?999',
  "\\'; DROP TABLE twofold_users; --",
  "\u0000'; DROP TABLE twofold_users; --",
  "'; ATTACH DATABASE '/tmp/x.db' AS x; --",
  "'; PRAGMA journal_mode = DELETE; --",
];

/** The largest id the service accepts (16,384 UTF-16 units), all astral: 32 KB of UTF-8. */
const LONGEST_ID = '🔐'.repeat(8192);

describe('SQLite: hostile input through MfaService', () => {
  let db: Database.Database;
  let mfa: MfaService;
  let now = T0;

  beforeAll(async () => {
    ({ db } = await freshDatabase());
    mfa = new MfaService({ issuer: 'Input', secretKey: randomBytes(32), ...storesOn(db), now: () => now });
  });

  afterAll(() => {
    db.close();
  });

  function rows(table: string): number {
    return (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
  }

  async function challenge(userId: string): Promise<string> {
    const started = await mfa.startLogin(userId);
    if (!started.ok || !started.mfaRequired) throw new Error(`startLogin: ${JSON.stringify(started)}`);
    return started.challenge;
  }

  const ids = [...awkwardUserIds, ...injections.filter((id) => !awkwardUserIds.includes(id)), LONGEST_ID];

  it(`${ids.length} awkward user ids (quotes, NULs, unicode, SQL, 10 KB and 16,384-unit ids) enroll, log in and report status, each exactly`, async () => {
    expect(new Set(ids).size).toBe(ids.length);
    const enrolled = new Map<string, { secret: string; codes: string[] }>();
    for (const userId of ids) {
      const begun = ok(await mfa.beginEnrollment(userId, { accountName: 'someone@example.com' }));
      ok(await mfa.confirmEnrollment(userId, codeAt(begun.secret, now)));
      const { codes } = ok(await mfa.revealRecoveryCodes(userId));
      enrolled.set(userId, { secret: begun.secret, codes });
    }
    expect(rows('twofold_users')).toBe(ids.length);
    expect(rows('twofold_recovery_code_sets')).toBe(ids.length);
    expect(rows('twofold_recovery_codes')).toBe(ids.length * 10);
    now += STEP;
    for (const [i, userId] of ids.entries()) {
      const { secret, codes } = enrolled.get(userId)!;
      const label = `user id #${i} ${JSON.stringify(userId.slice(0, 30))}`;
      const viaTotp = await mfa.verifyLogin(await challenge(userId), { totp: codeAt(secret, now) });
      expect(viaTotp, label).toMatchObject({ ok: true, method: 'totp' });
      expect(viaTotp.ok && viaTotp.userId === userId, label).toBe(true);
      // Another user's code never opens this account.
      const neighbour = enrolled.get(ids[(i + 1) % ids.length]!)!;
      expect(await mfa.verifyLogin(await challenge(userId), { recoveryCode: neighbour.codes[0]! }), label).toMatchObject({ ok: false, reason: 'invalid_code' });
      const viaCode = await mfa.verifyLogin(await challenge(userId), { recoveryCode: codes[0]! });
      expect(viaCode, label).toMatchObject({ ok: true, method: 'recovery_code', recoveryCodesRemaining: codes.length - 1 });
      expect(viaCode.ok && viaCode.userId === userId, label).toBe(true);
      expect(await mfa.status(userId), label).toMatchObject({ state: 'enabled', recoveryCodesRemaining: codes.length - 1 });
    }
    // Prefixes, truncations and near-misses of stored ids have nothing.
    for (const absent of ['use', 'user\u0000\u0000', LONGEST_ID.slice(0, -2), `${LONGEST_ID.slice(0, -2)}🔑`, "'; DROP TABLE twofold_users; -- ", '%', '_%']) {
      if (ids.includes(absent)) continue;
      expect(await mfa.status(absent)).toMatchObject({ state: 'registered', recoveryCodesRemaining: 0 });
    }
  });

  it('SQL in user ids, account names and records leaves every table, row and pragma intact', async () => {
    const before = { users: rows('twofold_users'), sets: rows('twofold_recovery_code_sets'), codes: rows('twofold_recovery_codes') };
    for (const injection of injections) {
      const userId = `${injection} (2)`;
      const accountName = injection.replaceAll(/[\u0000:]/g, '');
      ok(await mfa.beginEnrollment(userId, { accountName }));
      expect(await mfa.status(userId)).toMatchObject({ state: 'enrolling' });
      expect((await storesOn(db).users.get(userId))?.record).toMatchObject({ accountName });
    }
    expect(rows('twofold_users')).toBe(before.users + injections.length);
    expect(rows('twofold_recovery_code_sets')).toBe(before.sets);
    expect(rows('twofold_recovery_codes')).toBe(before.codes);
    expect(tablesOf(db)).toEqual(TABLES);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('PRAGMA database_list').all()).toHaveLength(1);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  });
});

// ---- migrate ----

describe('migrate', () => {
  it('creates the three tables, and running it again keeps them and their rows', async () => {
    const db = open(freshPath());
    try {
      await migrate(db);
      expect(tablesOf(db)).toEqual(TABLES);
      const { users, recoveryCodes } = storesOn(db);
      expect(await users.put('alice', sampleRecord(), null)).toBe(true);
      await recoveryCodes.replace('alice', [hash(), hash()], 1);
      await migrate(db);
      await migrate(db);
      expect(tablesOf(db)).toEqual(TABLES);
      expect(await users.get('alice')).toEqual({ record: sampleRecord(), version: 1 });
      expect(await recoveryCodes.countUnused('alice')).toBe(2);
      expect(db.inTransaction).toBe(false);
    } finally {
      db.close();
    }
  });

  it('a users table from before user_id: migrate adds the column; its old rows are counted as unnamed by scan until a write names them', async () => {
    const db = open(freshPath());
    try {
      // The table as migrationSql made it before twofold kept user ids, with a row written then.
      db.exec(`CREATE TABLE "twofold_users" (
        user_key BLOB NOT NULL PRIMARY KEY CHECK (length(user_key) = 32), record TEXT NOT NULL, version INTEGER NOT NULL CHECK (version >= 1)
      ) STRICT, WITHOUT ROWID`);
      const legacy = "legacy \u0000 o'brien";
      db.prepare(`INSERT INTO twofold_users VALUES (?, ?, 3)`).run(createHash('sha256').update(legacy, 'utf8').digest(), JSON.stringify(sampleRecord()));
      await migrate(db);
      await migrate(db);
      expect(tablesOf(db)).toEqual(TABLES);
      const { users } = storesOn(db);
      expect(await users.get(legacy)).toEqual({ record: sampleRecord(), version: 3 });
      expect(await users.put('fresh', sampleRecord(), null)).toBe(true);
      expect(await users.scan(null, 10)).toEqual({ userIds: ['fresh'], cursor: null, unnamed: 1 });
      expect(await users.put(legacy, sampleRecord({ failures: 1 }), 3)).toBe(true);
      expect(new Set((await users.scan(null, 10)).userIds)).toEqual(new Set(['fresh', legacy]));
      expect((await users.scan(null, 10)).unnamed).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it('creates exactly what the text of migrationSql creates, STRICT and WITHOUT ROWID', async () => {
    const viaMigrate = new Database(':memory:');
    const viaText = new Database(':memory:');
    try {
      await migrate(viaMigrate, { tablePrefix: 'auth_' });
      viaText.exec(migrationSql('auth_'));
      const schemaOf = (db: Database.Database) => db.prepare(`SELECT type, name, sql FROM sqlite_master ORDER BY name`).all();
      expect(schemaOf(viaMigrate)).toEqual(schemaOf(viaText));
      const tables = viaText.prepare(`SELECT name, strict, wr FROM pragma_table_list WHERE name LIKE 'auth\\_%' ESCAPE '\\' ORDER BY name`).all();
      expect(tables).toEqual([
        { name: 'auth_recovery_code_sets', strict: 1, wr: 1 },
        { name: 'auth_recovery_codes', strict: 1, wr: 1 },
        { name: 'auth_users', strict: 1, wr: 1 },
      ]);
    } finally {
      viaMigrate.close();
      viaText.close();
    }
  });

  it('the tables refuse rows no store writes: a short key, a version of 0, a non-integer, a short hash', () => {
    const db = new Database(':memory:');
    try {
      db.exec(migrationSql());
      const key = Buffer.alloc(32, 1);
      const users = 'INSERT INTO twofold_users (user_key, record, version)';
      expect(() => db.prepare(`${users} VALUES (?, '{}', 1)`).run(Buffer.alloc(31))).toThrow(/CHECK/);
      expect(() => db.prepare(`${users} VALUES (?, '{}', 0)`).run(key)).toThrow(/CHECK/);
      expect(() => db.prepare(`${users} VALUES (?, '{}', 1.5)`).run(key)).toThrow(/INTEGER/);
      expect(() => db.prepare(`${users} VALUES ('k', '{}', 1)`).run()).toThrow(/BLOB/);
      expect(() => db.prepare(`INSERT INTO twofold_users VALUES (?, '{}', 1, 'an id as text')`).run(key)).toThrow(/BLOB/);
      expect(() => db.prepare(`INSERT INTO twofold_recovery_code_sets VALUES (?, -1)`).run(key)).toThrow(/CHECK/);
      expect(() => db.prepare(`INSERT INTO twofold_recovery_codes VALUES (?, 0, ?, NULL)`).run(key, Buffer.alloc(16))).toThrow(/CHECK/);
    } finally {
      db.close();
    }
  });

  it('sql/sqlite.sql is exactly migrationSql("twofold_")', () => {
    const file = readFileSync(fileURLToPath(new URL('../../sql/sqlite.sql', import.meta.url)), 'utf8');
    expect(file).toBe(migrationSql('twofold_'));
    expect(migrationSql()).toBe(migrationSql('twofold_'));
  });

  it('migrationSql: every CREATE is idempotent, and the text holds no transaction statement (migrate adds BEGIN IMMEDIATE)', () => {
    for (const sql of [migrationSql(), migrationSql('auth_')]) {
      const creates = sql.match(/^CREATE .*$/gm) ?? [];
      expect(creates).toHaveLength(3);
      for (const line of creates) expect(line).toMatch(/^CREATE TABLE IF NOT EXISTS "[a-z0-9_]+" \($/);
      expect(sql).not.toMatch(/^\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA)\b/m);
    }
    const db = new Database(':memory:');
    try {
      db.exec(migrationSql());
      db.exec(migrationSql());
      expect(tablesOf(db)).toEqual(TABLES);
    } finally {
      db.close();
    }
  });

  it('runs in one BEGIN IMMEDIATE transaction: with the write lock held elsewhere it waits, then fails whole with SQLITE_BUSY', async () => {
    const path = freshPath();
    const holder = open(path);
    const db = open(path, { timeout: 100 });
    try {
      holder.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      const error = (await errorOf(migrate(db))) as { code?: string };
      expect(error?.code).toBe('SQLITE_BUSY');
      expect(Date.now() - started).toBeGreaterThanOrEqual(50);
      holder.exec('ROLLBACK');
      expect(tablesOf(db)).toEqual([]);
      await migrate(db);
      expect(tablesOf(holder)).toEqual(TABLES);
    } finally {
      holder.close();
      db.close();
    }
  });

  it('is safe when five processes migrate one fresh file at the same instant', async () => {
    const path = freshPath('migrate');
    const go = `${path}.go`;
    // WAL is a property of the file, set once by whoever creates it.
    open(path).close();
    const script = `
      import { existsSync } from 'node:fs';
      import Database from 'better-sqlite3';
      import { migrate } from ${JSON.stringify(SQLITE_MODULE)};
      const db = new Database(${JSON.stringify(path)}, { timeout: 5000 });
      console.log('ready');
      const pause = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(${JSON.stringify(go)})) Atomics.wait(pause, 0, 0, 2);
      await migrate(db);
      console.log(JSON.stringify(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((t) => t.name)));
      db.close();
    `;
    const children = Array.from({ length: 5 }, () => runChild(script));
    await Promise.all(children.map((child) => child.printed('ready')));
    writeFileSync(go, '');
    const exits = await Promise.all(children.map((child) => child.exited));
    for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null, stdout: `ready\n${JSON.stringify(TABLES)}\n`, stderr: '' });
    const db = open(path);
    try {
      expect(tablesOf(db)).toEqual(TABLES);
      expect(await storesOn(db).users.put('alice', sampleRecord(), null)).toBe(true);
    } finally {
      db.close();
    }
  });
});
