/**
 * The MySQL adapter, against MariaDB: the conformance suite every adapter
 * passes (over a default pool, and again over sessions in hostile modes),
 * what is particular to MySQL (key and column layout, character sets,
 * found rows, validation, clients), and migrate.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMfaError, type MfaRecord } from 'twofold';
import { migrate, migrationSql, MysqlRecoveryCodeStore, MysqlUserStore, type MysqlQueryable } from 'twofold/adapters/mysql';
import { runStoreConformance, sampleRecord } from 'twofold/testing';
import { MYSQL_URL, mysqlSkipReason } from '../support/services.ts';
import { MALFORMED_HASHES } from './malformed-hashes.ts';
import { BAD_CURSORS, BAD_LIMITS } from './scan-arguments.ts';
import { createPool, dropTables, dropTablesAndEnd, freshPrefix, storesOn, type TestPool } from './mysql-stores.ts';

const skip = await mysqlSkipReason();

const hash = (): string => randomBytes(32).toString('hex');

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error;
  }
  return null;
}

async function expectMfaError(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  const error = await errorOf(promise);
  expect(isMfaError(error) && error.code, `expected MfaError ${code}, got ${String(error)}`).toBe(code);
}

// Compile-time: what mysql2/promise hands out fits the adapter.
export type Fits = [mysql.Pool, mysql.PoolConnection, mysql.Connection] extends MysqlQueryable[] ? true : never;
const fits: Fits = true;
void fits;

// ---- conformance: one table prefix per suite, emptied before every test ----

/** Session modes that break naive SQL: ANSI quotes, no backslash escapes, MariaDB's simultaneous SET assignment, not strict. */
const HOSTILE_SQL_MODE = 'ANSI,NO_BACKSLASH_ESCAPES,SIMULTANEOUS_ASSIGNMENT,PAD_CHAR_TO_FULL_LENGTH';

interface Variant {
  pool: () => TestPool;
  /** What the pool's sessions must report (checked once). */
  session?: Record<string, unknown>;
  /** Hand the stores an object with only `query` (mysql2's text protocol, client-side escaping) instead of the pool. */
  viaQuery?: boolean;
}

function conformance(name: string, variant: Variant): void {
  let shared: { pool: TestPool; tablePrefix: string } | null = null;
  runStoreConformance({
    name,
    skip: skip ?? false,
    makeStores: async () => {
      if (shared === null) {
        shared = { pool: variant.pool(), tablePrefix: freshPrefix() };
        await migrate(shared.pool, { tablePrefix: shared.tablePrefix });
        if (variant.session) {
          // The pool's sessions really are in those modes.
          const [[row]] = await shared.pool.query<mysql.RowDataPacket[]>(
            `SELECT @@SESSION.sql_mode AS sqlMode, @@character_set_client AS charset, @@SESSION.tx_isolation AS isolation`,
          );
          expect(row).toEqual(variant.session);
        }
      }
      const { pool, tablePrefix } = shared;
      await pool.query(`DELETE FROM \`${tablePrefix}users\``);
      await pool.query(`DELETE FROM \`${tablePrefix}recovery_codes\``);
      const db: MysqlQueryable = variant.viaQuery ? { query: (sql, values) => pool.query(sql, values) } : pool;
      return { users: new MysqlUserStore(db, { tablePrefix }), recoveryCodes: new MysqlRecoveryCodeStore(db, { tablePrefix }) };
    },
  });
  afterAll(async () => {
    if (shared) await dropTablesAndEnd(shared.pool, shared.tablePrefix);
  });
}

conformance('mysql (MariaDB)', { pool: () => createPool({ max: 8 }) });

conformance(
  `mysql (MariaDB) over query() (text protocol), READ COMMITTED sessions in sql_mode ${HOSTILE_SQL_MODE}, latin1, without CLIENT_FOUND_ROWS, big numbers as strings`,
  {
    pool: () => {
      const pool = mysql.createPool({
        uri: MYSQL_URL,
        connectionLimit: 4,
        charset: 'latin1',
        flags: ['-FOUND_ROWS'],
        supportBigNumbers: true,
        bigNumberStrings: true,
      }) as TestPool;
      Object.defineProperty(pool, 'threadIds', { value: [] });
      pool.pool.on('connection', (connection) => {
        connection.query(`SET SESSION sql_mode = '${HOSTILE_SQL_MODE}'`);
        connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      });
      return pool;
    },
    session: {
      sqlMode: 'REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI,NO_BACKSLASH_ESCAPES,PAD_CHAR_TO_FULL_LENGTH,SIMULTANEOUS_ASSIGNMENT',
      charset: 'latin1',
      isolation: 'READ-COMMITTED',
    },
    viaQuery: true,
  },
);

// ---- options ----

const invalidPrefixes: unknown[] = [
  '',
  'Twofold_',
  'UPPER',
  '1abc',
  'has-dash',
  'has space',
  'a'.repeat(51),
  'twofold`; DROP TABLE twofold_users; --',
  "x'; DROP DATABASE test; --",
  '`quoted`',
  'db.table_',
  'émoji',
  'a\u0000b',
  'twofold_\n',
  42,
  null,
];

describe('MySQL adapter: options', () => {
  it.each(invalidPrefixes.map((p) => [JSON.stringify(p), p]))('refuses tablePrefix %s with MfaError invalid_option, before any query', async (_, tablePrefix) => {
    let queried = 0;
    const db: MysqlQueryable = { execute: async () => ((queried++, [[]])) };
    const options = { tablePrefix } as { tablePrefix: string };
    await expectMfaError(() => new MysqlUserStore(db, options), 'invalid_option');
    await expectMfaError(() => new MysqlRecoveryCodeStore(db, options), 'invalid_option');
    await expectMfaError(migrate(db, options), 'invalid_option');
    await expectMfaError(() => migrationSql(tablePrefix as string), 'invalid_option');
    expect(queried).toBe(0);
  });

  it.each(['twofold_', 'a', '_', 'auth_', 'mfa2', 'a'.repeat(50)])('accepts tablePrefix %s and quotes the table names as identifiers', (tablePrefix) => {
    const sql = migrationSql(tablePrefix);
    expect(sql).toContain(`CREATE TABLE IF NOT EXISTS \`${tablePrefix}users\` (`);
    expect(sql).toContain(`CREATE TABLE IF NOT EXISTS \`${tablePrefix}recovery_codes\` (`);
    // The longest name stays within MySQL's 64 characters.
    expect(`${tablePrefix}recovery_codes`.length).toBeLessThanOrEqual(64);
  });

  it.each([[null], [undefined], [{}], [{ execute: 'SELECT 1' }], ['mysql://localhost/db']])('refuses a client without execute() or query() (%s) with MfaError invalid_option', async (db) => {
    await expectMfaError(() => new MysqlUserStore(db as unknown as MysqlQueryable), 'invalid_option');
    await expectMfaError(() => new MysqlRecoveryCodeStore(db as unknown as MysqlQueryable), 'invalid_option');
    await expectMfaError(migrate(db as unknown as MysqlQueryable), 'invalid_option');
  });

  it("refuses mysql2's callback-style pool with MfaError invalid_option naming pool.promise()", async () => {
    const { createPool: createCallbackPool } = await import('mysql2');
    const pool = createCallbackPool({ uri: MYSQL_URL, connectionLimit: 1 });
    try {
      for (const make of [() => new MysqlUserStore(pool as never), () => new MysqlRecoveryCodeStore(pool as never), () => migrate(pool as never)]) {
        const error = await errorOf(make);
        expect(isMfaError(error, 'invalid_option')).toBe(true);
        expect((error as Error).message).toContain('pool.promise()');
      }
    } finally {
      await new Promise((resolve) => pool.end(resolve));
    }
  });

  it('never loads mysql2 at run time: the adapter imports only types from it', () => {
    const dir = fileURLToPath(new URL('../../src/stores/mysql/', import.meta.url));
    for (const file of readdirSync(dir)) {
      const source = readFileSync(`${dir}${file}`, 'utf8');
      expect(source, file).not.toMatch(/^\s*import\s+(?!type\b)[^;]*from\s+['"]mysql2(\/promise)?['"]/m);
      expect(source, file).not.toMatch(/require\(\s*['"]mysql2|import\(\s*['"]mysql2/);
    }
  });
});

// ---- MySQL specifics ----

describe.skipIf(skip)('MySQL adapter: stores', () => {
  let pool: TestPool;
  let tablePrefix: string;
  let users: MysqlUserStore;
  let codes: MysqlRecoveryCodeStore;

  beforeAll(async () => {
    pool = createPool();
    tablePrefix = freshPrefix();
    await migrate(pool, { tablePrefix });
    ({ users, recoveryCodes: codes } = storesOn(pool, tablePrefix));
  });

  it.each([...BAD_LIMITS.map(([name, limit]) => [`page size ${name}`, limit, null]), ...BAD_CURSORS.map(([name, cursor]) => [`cursor ${name}`, 10, cursor])])(
    'scan refuses a %s with MfaError invalid_argument',
    async (_, limit, cursor) => {
      await expectMfaError(users.scan(cursor as string | null, limit as number), 'invalid_argument');
    },
  );

  afterAll(async () => {
    await dropTablesAndEnd(pool, tablePrefix);
  });

  /** Runs `body` over a pool of its own with `options`, then closes it. */
  async function withPool(options: mysql.PoolOptions, body: (db: mysql.Pool) => Promise<void>): Promise<void> {
    const db = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2, ...options });
    try {
      await body(db);
    } finally {
      await db.end();
    }
  }


  async function storedRow(userId: string): Promise<{ key: string; record: Buffer; version: number; type: string } | undefined> {
    // UNHEX(SHA2(id, 256)) over this utf8mb4 connection: the documented way to find a row by id in SQL.
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT HEX(user_key) AS \`key\`, CAST(record AS BINARY) AS record, version FROM \`${tablePrefix}users\` WHERE user_key = UNHEX(SHA2(?, 256))`,
      [userId],
    );
    return rows[0] as never;
  }

  it('keys rows by SHA-256 of the UTF-8 user id (BINARY(32)), and keeps the record as its exact JSON text in LONGTEXT utf8mb4', async () => {
    const userId = `key-${hash()} Zoë 🔐`;
    const record = sampleRecord();
    expect(await users.put(userId, record, null)).toBe(true);
    const row = await storedRow(userId);
    expect(row?.key).toBe(createHash('sha256').update(userId).digest('hex').toUpperCase());
    expect(row?.record.toString('utf8')).toBe(JSON.stringify(record));
    expect(Number(row?.version)).toBe(1);
    const [columns] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [`${tablePrefix}users`],
    );
    expect(columns.map((c) => ({ ...c }))).toEqual([
      { name: 'user_key', type: 'binary(32)', charset: null, collation: null },
      { name: 'record', type: 'longtext', charset: 'utf8mb4', collation: 'utf8mb4_bin' },
      { name: 'version', type: expect.stringMatching(/^bigint(\(20\))? unsigned$/), charset: null, collation: null },
      { name: 'user_id', type: 'blob', charset: null, collation: null },
    ]);
    // The user id itself, as UTF-8 bytes, for UserStore.scan.
    const [[named]] = await pool.query<mysql.RowDataPacket[]>(`SELECT user_id FROM \`${tablePrefix}users\` WHERE user_key = UNHEX(?)`, [createHash('sha256').update(userId).digest('hex')]);
    expect((named!.user_id as Buffer).toString('utf8')).toBe(userId);
  });

  it('stores escaped NULs, astral characters, lone surrogates (escaped) and backslashes byte for byte, unnormalised', async () => {
    const userId = `json-${hash()}`;
    const awkward = 'nul \u0000 \\u0000 astral 🔐👩‍💻 lone \uD800 \uDFFF e\u0301 é "q" \\ \n\t \u2028';
    // Key order and spacing the JSON type would rewrite: the text must come back as written.
    const record = { ...sampleRecord({ lockReason: awkward, accountName: awkward }), zeta: 1, alpha: 2.5e-7, dup: [1, 1e21] } as unknown as MfaRecord;
    expect(await users.put(userId, record, null)).toBe(true);
    expect((await storedRow(userId))?.record.toString('utf8')).toBe(JSON.stringify(record));
    expect((await users.get(userId))?.record).toEqual(record);
  });

  it('writes and reads the same bytes over latin1 and utf8 (utf8mb3) connections', async () => {
    const record = sampleRecord({ lockReason: 'emoji 🔐 and NUL \u0000 and עברית' });
    for (const charset of ['latin1', 'utf8', 'utf8mb4']) {
      await withPool({ charset }, async (other) => {
        const elsewhere = storesOn(other, tablePrefix);
        const userId = `charset-${charset}-${hash()}`;
        expect(await elsewhere.users.put(userId, record, null), charset).toBe(true);
        expect(await elsewhere.users.get(userId), charset).toEqual({ record, version: 1 });
        expect(await users.get(userId), charset).toEqual({ record, version: 1 });
        expect((await storedRow(userId))?.record.toString('utf8'), charset).toBe(JSON.stringify(record));
        expect(await elsewhere.users.put(userId, sampleRecord({ failures: 8 }), 1), charset).toBe(true);
        expect((await users.get(userId))?.version, charset).toBe(2);
      });
    }
  });

  it('CAS holds with and without CLIENT_FOUND_ROWS, also when the new record equals the stored one', async () => {
    for (const flags of [[], ['-FOUND_ROWS']]) {
      await withPool({ flags }, async (db) => {
        const { users: u } = storesOn(db, tablePrefix);
        const userId = `found-rows-${flags.join()}-${hash()}`;
        expect(await u.put(userId, sampleRecord(), null)).toBe(true);
        // The flag took effect: a matched but unchanged row counts only with CLIENT_FOUND_ROWS.
        const [noop] = await db.query<mysql.ResultSetHeader>(`UPDATE \`${tablePrefix}users\` SET version = version WHERE user_key = UNHEX(SHA2(?, 256))`, [userId]);
        expect(noop.affectedRows).toBe(flags.length === 0 ? 1 : 0);
        expect(await u.put(userId, sampleRecord(), null)).toBe(false);
        expect(await u.put(userId, sampleRecord(), 1), flags.join()).toBe(true);
        expect(await u.put(userId, sampleRecord(), 1), flags.join()).toBe(false);
        expect(await u.put(userId, sampleRecord(), 2), flags.join()).toBe(true);
        expect(await u.get(userId)).toEqual({ record: sampleRecord(), version: 3 });
      });
    }
  });

  it('returns version and countUnused as JS numbers, also with supportBigNumbers and bigNumberStrings', async () => {
    for (const options of [{}, { supportBigNumbers: true, bigNumberStrings: true }]) {
      await withPool(options, async (db) => {
        const { users: u, recoveryCodes: c } = storesOn(db, tablePrefix);
        const userId = `numbers-${hash()}`;
        expect(await u.put(userId, sampleRecord(), null)).toBe(true);
        expect(await u.put(userId, sampleRecord(), 1)).toBe(true);
        expect((await u.get(userId))!.version).toBe(2);
        await c.replace(userId, [hash(), hash()], 1);
        expect(await c.countUnused(userId)).toBe(2);
      });
    }
  });

  it.each([[0], [-1], [1.5], [Number.NaN], [2 ** 53], ['1'], [Number.MAX_VALUE]])('put naming an impossible version (%s) is false and writes nothing', async (version) => {
    const userId = `version-${hash()}`;
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    expect(await users.put(userId, sampleRecord({ failures: 9 }), version as number)).toBe(false);
    expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
  });

  it('rejects a record JSON cannot encode (a BigInt) with a TypeError and stores nothing', async () => {
    const userId = `bigint-${hash()}`;
    const record = { ...sampleRecord(), failures: 1n } as unknown as MfaRecord;
    await expect(users.put(userId, record, null)).rejects.toThrow(TypeError);
    expect(await users.get(userId)).toBeNull();
  });

  it('refuses a user id that is not well-formed UTF-16 (a lone surrogate) instead of colliding two ids', async () => {
    for (const userId of ['\uD800', 'a\uDC00b', 42 as unknown as string]) {
      await expectMfaError(users.get(userId), 'invalid_argument');
      await expectMfaError(users.put(userId, sampleRecord(), null), 'invalid_argument');
      await expectMfaError(codes.replace(userId, [hash()], 1), 'invalid_argument');
      await expectMfaError(codes.consume(userId, hash()), 'invalid_argument');
      await expectMfaError(codes.countUnused(userId), 'invalid_argument');
    }
  });

  const malformed: Array<[string, unknown]> = [
    ...MALFORMED_HASHES,
    ['SQL', `${'a'.repeat(60)}');--`],
    ['a state character', `${'a'.repeat(63)}-`],
    ['an entry with its state', `${'a'.repeat(64)}-`],
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
  });

  it.each([[-1], [1.5], [Number.NaN], [2 ** 53], ['1']])('rejects a generation that is not a non-negative safe integer (%s)', async (bad) => {
    const userId = `generation-${hash()}`;
    await expectMfaError(codes.replace(userId, [hash()], bad as number), 'invalid_argument');
    expect(await codes.countUnused(userId)).toBe(0);
  });

  it('accepts the largest safe generation exactly, and keeps generations per user', async () => {
    const userId = `max-generation-${hash()}`;
    const set = [hash()];
    await codes.replace(userId, set, Number.MAX_SAFE_INTEGER - 1);
    await codes.replace(userId, set, Number.MAX_SAFE_INTEGER);
    await codes.replace(userId, [hash()], Number.MAX_SAFE_INTEGER - 1);
    expect(await codes.consume(userId, set[0]!)).toBe(true);
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT CAST(generation AS CHAR) AS generation FROM \`${tablePrefix}recovery_codes\` WHERE user_key = UNHEX(SHA2(?, 256))`,
      [userId],
    );
    expect(rows[0]?.generation).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  it('keeps the order and duplicates of a set as the memory store does: a duplicated hash is consumed once', async () => {
    const userId = `duplicates-${hash()}`;
    const twice = hash();
    await codes.replace(userId, [twice, hash(), twice], 1);
    expect(await codes.countUnused(userId)).toBe(3);
    expect(await codes.consume(userId, twice)).toBe(true);
    expect(await codes.consume(userId, twice)).toBe(false);
    expect(await codes.countUnused(userId)).toBe(2);
  });

  it('keeps a set as hex entries with their state, in order; a hash made of two halves of stored ones is not found', async () => {
    const userId = `layout-${hash()}`;
    const set = [hash(), hash(), hash()];
    await codes.replace(userId, set, 1);
    await codes.consume(userId, set[1]!);
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT CAST(generation AS CHAR) AS generation, CAST(codes AS CHAR) AS codes FROM \`${tablePrefix}recovery_codes\` WHERE user_key = UNHEX(SHA2(?, 256))`,
      [userId],
    );
    expect(rows[0]).toEqual({ generation: '1', codes: `${set[0]}-${set[1]}+${set[2]}-` });
    // Straddling two entries: the end of one hash and the start of the next.
    const straddling = `${set[0]!.slice(32)}${set[1]!.slice(0, 32)}`;
    expect(await codes.consume(userId, straddling)).toBe(false);
    await codes.restore(userId, straddling);
    expect(await codes.countUnused(userId)).toBe(2);
  });

  it('a set of 100 codes (the most the service makes) round-trips; one of 1,000 too', async () => {
    for (const size of [100, 1000]) {
      const userId = `large-${size}-${hash()}`;
      const set = Array.from({ length: size }, hash);
      await codes.replace(userId, set, 1);
      expect(await codes.countUnused(userId)).toBe(size);
      expect(await codes.consume(userId, set[size - 1]!)).toBe(true);
      expect(await codes.consume(userId, set[0]!)).toBe(true);
      expect(await codes.countUnused(userId)).toBe(size - 2);
    }
  });

  it('stores under two prefixes share nothing', async () => {
    const other = freshPrefix();
    await migrate(pool, { tablePrefix: other });
    try {
      const elsewhere = storesOn(pool, other);
      const userId = `two-prefixes-${hash()}`;
      const shared = hash();
      expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      await codes.replace(userId, [shared], 1);
      expect(await elsewhere.users.get(userId)).toBeNull();
      expect(await elsewhere.recoveryCodes.consume(userId, shared)).toBe(false);
      expect(await elsewhere.users.put(userId, sampleRecord({ failures: 3 }), null)).toBe(true);
      expect((await users.get(userId))?.record.failures).toBe(sampleRecord().failures);
    } finally {
      await dropTables(pool, other);
    }
  });

  it('works over a mysql2 Connection, a PoolConnection, and objects with only execute() or only query()', async () => {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    const pooledConnection = await pool.getConnection();
    try {
      const calls: string[] = [];
      const executeOnly: MysqlQueryable = {
        execute: (sql, values) => {
          calls.push(`execute ${sql}`);
          return pool.execute(sql, values as never);
        },
      };
      const queryOnly: MysqlQueryable = {
        query: (sql, values) => {
          calls.push(`query ${sql}`);
          return pool.query(sql, values as never);
        },
      };
      for (const db of [connection, pooledConnection, executeOnly, queryOnly] as MysqlQueryable[]) {
        const u = new MysqlUserStore(db, { tablePrefix });
        const c = new MysqlRecoveryCodeStore(db, { tablePrefix });
        const userId = `client-${hash()}`;
        const set = [hash(), hash()];
        expect(await u.put(userId, sampleRecord(), null)).toBe(true);
        expect(await u.put(userId, sampleRecord(), null)).toBe(false);
        expect(await u.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
        expect(await u.put(userId, sampleRecord({ failures: 1 }), 1)).toBe(true);
        await c.replace(userId, set, 1);
        expect(await c.consume(userId, set[0]!)).toBe(true);
        expect(await c.consume(userId, set[0]!)).toBe(false);
        await c.restore(userId, set[0]!);
        expect(await c.countUnused(userId)).toBe(2);
        await c.clear(userId);
        expect(await c.countUnused(userId)).toBe(0);
      }
      expect(calls.some((call) => call.startsWith('execute '))).toBe(true);
      expect(calls.some((call) => call.startsWith('query '))).toBe(true);
    } finally {
      pooledConnection.release();
      await connection.end();
    }
  });
});

// ---- migrate ----

describe.skipIf(skip)('migrate', () => {
  let pool: TestPool;
  const prefixes: string[] = [];
  const databases: string[] = [];

  beforeAll(() => {
    pool = createPool({ max: 4 });
  });

  afterAll(async () => {
    for (const tablePrefix of prefixes) await dropTables(pool, tablePrefix);
    for (const database of databases) await pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await pool.end();
  });

  async function tablesOf(tablePrefix: string): Promise<Array<{ name: string; engine: string }>> {
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT TABLE_NAME AS name, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ? ORDER BY TABLE_NAME`,
      [`${tablePrefix.replaceAll('_', '\\_')}%`],
    );
    return rows.map((row) => ({ name: row.name as string, engine: row.engine as string }));
  }

  const bothInnoDb = (tablePrefix: string) => [
    { name: `${tablePrefix}recovery_codes`, engine: 'InnoDB' },
    { name: `${tablePrefix}users`, engine: 'InnoDB' },
  ];

  /** A fresh database (MySQL has no schemas inside one) and a one-connection pool on it. */
  async function freshDatabase(options: mysql.PoolOptions = {}): Promise<{ database: string; db: mysql.Pool }> {
    const database = `twofold_test_${randomBytes(5).toString('hex')}`;
    databases.push(database);
    await pool.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
    const url = new URL(MYSQL_URL);
    url.pathname = `/${database}`;
    return { database, db: mysql.createPool({ uri: url.href, connectionLimit: 1, ...options }) };
  }

  it('creates both InnoDB tables, and running it again keeps them and their rows', async () => {
    const tablePrefix = freshPrefix();
    prefixes.push(tablePrefix);
    await migrate(pool, { tablePrefix });
    expect(await tablesOf(tablePrefix)).toEqual(bothInnoDb(tablePrefix));
    const { users, recoveryCodes } = storesOn(pool, tablePrefix);
    const set = [hash(), hash()];
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    await recoveryCodes.replace('alice', set, 1);
    await migrate(pool, { tablePrefix });
    await migrate(pool, { tablePrefix });
    expect(await tablesOf(tablePrefix)).toEqual(bothInnoDb(tablePrefix));
    expect(await users.get('alice')).toEqual({ record: sampleRecord(), version: 1 });
    expect(await recoveryCodes.countUnused('alice')).toBe(2);
  });

  it('is safe when five app servers migrate a fresh prefix at once (three rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const tablePrefix = freshPrefix();
      prefixes.push(tablePrefix);
      const servers = Array.from({ length: 5 }, () => createPool({ max: 1 }));
      try {
        const outcomes = await Promise.allSettled(servers.map((server) => migrate(server, { tablePrefix })));
        expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
      } finally {
        await Promise.all(servers.map((server) => server.end()));
      }
      expect(await tablesOf(tablePrefix)).toEqual(bothInnoDb(tablePrefix));
      const { users } = storesOn(pool, tablePrefix);
      expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    }
  });

  it("waits while another session holds the migration lock, and releases it when done", async () => {
    const tablePrefix = freshPrefix();
    prefixes.push(tablePrefix);
    const holder = await mysql.createConnection({ uri: MYSQL_URL });
    try {
      const [[held]] = await holder.query<mysql.RowDataPacket[]>(`SELECT GET_LOCK('twofold_migrate', 10) AS granted`);
      expect(held?.granted).toBe(1);
      let done = false;
      const migrating = migrate(pool, { tablePrefix }).then(() => {
        done = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      expect(await tablesOf(tablePrefix)).toEqual([]);
      await holder.query(`SELECT RELEASE_LOCK('twofold_migrate')`);
      await migrating;
      expect(await tablesOf(tablePrefix)).toEqual(bothInnoDb(tablePrefix));
      // Released: another session takes it at once.
      const [[again]] = await holder.query<mysql.RowDataPacket[]>(`SELECT GET_LOCK('twofold_migrate', 5) AS granted`);
      expect(again?.granted).toBe(1);
      await holder.query(`SELECT RELEASE_LOCK('twofold_migrate')`);
    } finally {
      await holder.end();
    }
  });

  it('a users table from before user_id: migrate (or the script) adds the column; its old rows are counted as unnamed by scan until a write names them', async () => {
    const legacy = "legacy \u0000 o'brien";
    const oldTable = (table: string) => `CREATE TABLE \`${table}\` (
      user_key BINARY(32) NOT NULL, record LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, version BIGINT UNSIGNED NOT NULL,
      PRIMARY KEY (user_key), CHECK (version >= 1)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
    const tablePrefix = freshPrefix();
    prefixes.push(tablePrefix);
    await pool.query(oldTable(`${tablePrefix}users`));
    await pool.query(`INSERT INTO \`${tablePrefix}users\` VALUES (UNHEX(?), ?, 3)`, [createHash('sha256').update(legacy).digest('hex'), JSON.stringify(sampleRecord())]);
    await migrate(pool, { tablePrefix });
    await migrate(pool, { tablePrefix });
    const { users } = storesOn(pool, tablePrefix);
    expect(await users.get(legacy)).toEqual({ record: sampleRecord(), version: 3 });
    expect(await users.put('fresh', sampleRecord(), null)).toBe(true);
    expect(await users.scan(null, 10)).toEqual({ userIds: ['fresh'], cursor: null, unnamed: 1 });
    expect(await users.put(legacy, sampleRecord({ failures: 1 }), 3)).toBe(true);
    expect(new Set((await users.scan(null, 10)).userIds)).toEqual(new Set(['fresh', legacy]));
    expect((await users.scan(null, 10)).unnamed).toBeUndefined();

    // The script adds it too (MySQL has no ADD COLUMN IF NOT EXISTS), and running it again changes nothing.
    const script = await freshDatabase({ multipleStatements: true });
    try {
      await script.db.query(oldTable('twofold_users'));
      await script.db.query(migrationSql());
      await script.db.query(migrationSql());
      const [columns] = await script.db.query<mysql.RowDataPacket[]>(
        `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'twofold_users' ORDER BY ORDINAL_POSITION`,
      );
      expect(columns.map((c) => c.name)).toEqual(['user_key', 'record', 'version', 'user_id']);
    } finally {
      await script.db.end();
    }
  });

  it('refuses a table that exists with another engine (MyISAM), and releases the lock', async () => {
    const tablePrefix = freshPrefix();
    prefixes.push(tablePrefix);
    await pool.query(`CREATE TABLE \`${tablePrefix}users\` (user_key BINARY(32) NOT NULL PRIMARY KEY, record LONGTEXT NOT NULL, version BIGINT UNSIGNED NOT NULL) ENGINE=MyISAM`);
    const error = await errorOf(migrate(pool, { tablePrefix }));
    expect(String(error)).toMatch(/MyISAM engine; the MySQL adapter needs InnoDB/);
    const started = Date.now();
    const other = freshPrefix();
    prefixes.push(other);
    await migrate(pool, { tablePrefix: other });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('with the default prefix, creates twofold_users and twofold_recovery_codes in the current database; over a single Connection too', async () => {
    const { database, db } = await freshDatabase();
    try {
      await migrate(db);
      const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, [database]);
      expect(rows.map((row) => row.name)).toEqual(['twofold_recovery_codes', 'twofold_users']);
      const users = new MysqlUserStore(db);
      expect(await users.put(`default-${hash()}`, sampleRecord(), null)).toBe(true);
    } finally {
      await db.end();
    }
    const url = new URL(MYSQL_URL);
    url.pathname = `/${database}`;
    const connection = await mysql.createConnection({ uri: url.href });
    try {
      await migrate(connection, { tablePrefix: 'other_' });
      await migrate(connection, { tablePrefix: 'other_' });
      const store = new MysqlRecoveryCodeStore(connection, { tablePrefix: 'other_' });
      await store.replace('bob', [hash()], 1);
      expect(await store.countUnused('bob')).toBe(1);
    } finally {
      await connection.end();
    }
  });

  it('sql/mysql.sql is exactly migrationSql(), and run as a script it creates the same tables as migrate()', async () => {
    const file = readFileSync(fileURLToPath(new URL('../../sql/mysql.sql', import.meta.url)), 'utf8');
    expect(file).toBe(migrationSql());
    expect(migrationSql('twofold_')).toBe(file);
    const script = await freshDatabase({ multipleStatements: true });
    const migrated = await freshDatabase();
    try {
      await script.db.query(file);
      await script.db.query(file);
      await migrate(migrated.db);
      for (const table of ['twofold_users', 'twofold_recovery_codes']) {
        const [[a]] = await script.db.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE \`${table}\``);
        const [[b]] = await migrated.db.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE \`${table}\``);
        expect(a?.['Create Table']).toBe(b?.['Create Table']);
        expect(a?.['Create Table']).toMatch(/ENGINE=InnoDB/);
      }
      const users = new MysqlUserStore(script.db);
      expect(await users.put('alice', sampleRecord(), null)).toBe(true);
      expect(await users.get('alice')).toEqual({ record: sampleRecord(), version: 1 });
    } finally {
      await Promise.all([script.db.end(), migrated.db.end()]);
    }
  });

  it('migrationSql: every CREATE is IF NOT EXISTS and InnoDB, inside GET_LOCK / RELEASE_LOCK', () => {
    for (const sql of [migrationSql(), migrationSql('auth_')]) {
      const creates = sql.match(/^CREATE .*$/gm) ?? [];
      expect(creates).toHaveLength(2);
      for (const line of creates) expect(line).toMatch(/^CREATE TABLE IF NOT EXISTS `[a-z_]+` \($/);
      expect(sql.match(/ENGINE=InnoDB/g)).toHaveLength(2);
      expect(sql).toMatch(/^DO GET_LOCK\('twofold_migrate', \d+\);$/m);
      expect(sql.trimEnd()).toMatch(/DO RELEASE_LOCK\('twofold_migrate'\);$/);
    }
  });
});
