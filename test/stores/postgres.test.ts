/**
 * The PostgreSQL adapter: the conformance suite every adapter passes, what
 * is particular to PostgreSQL (key and column layout, validation, clients),
 * and migrate.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMfaError, type MfaRecord } from 'twofold';
import { migrate, migrationSql, PostgresRecoveryCodeStore, PostgresUserStore, type Queryable } from 'twofold/adapters/postgres';
import { runStoreConformance, sampleRecord } from 'twofold/testing';
import { postgresSkipReason, POSTGRES_URL } from '../support/services.ts';
import { MALFORMED_HASHES } from './malformed-hashes.ts';
import { BAD_CURSORS, BAD_LIMITS } from './scan-arguments.ts';
import { createPool, dropSchema, freshSchemaName, storesOn } from './postgres-stores.ts';

const skip = await postgresSkipReason();

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

// ---- conformance: one schema for the file, emptied before every test ----

let shared: { pool: pg.Pool; schema: string } | null = null;

async function sharedSchema(): Promise<{ pool: pg.Pool; schema: string }> {
  if (shared === null) {
    const pool = createPool({ applicationName: 'twofold_test_conformance' });
    const schema = freshSchemaName();
    shared = { pool, schema };
    await migrate(pool, { schema });
  }
  return shared;
}

runStoreConformance({
  name: 'postgres',
  skip: skip ?? false,
  makeStores: async () => {
    const { pool, schema } = await sharedSchema();
    await pool.query(`TRUNCATE "${schema}".twofold_users, "${schema}".twofold_recovery_codes`);
    return storesOn(pool, schema);
  },
});

afterAll(async () => {
  if (shared) await dropSchema(shared.pool, shared.schema);
});

// ---- PostgreSQL specifics ----

const invalidSchemas: unknown[] = [
  '',
  'Public',
  'UPPER',
  '1abc',
  'has-dash',
  'has space',
  'a'.repeat(64),
  'pg_catalog',
  'pg_temp',
  'public"; DROP TABLE twofold_users; --',
  "x'; DROP SCHEMA public CASCADE; --",
  '"quoted"',
  'schema.table',
  'émoji',
  'a\u0000b',
  'public\n',
  42,
  null,
];

describe('PostgreSQL adapter: options', () => {
  it.each(invalidSchemas.map((s) => [JSON.stringify(s), s]))('refuses schema %s with MfaError invalid_option, before any query', async (_, schema) => {
    let queried = 0;
    const db: Queryable = { query: async () => ((queried++, { rows: [] })) };
    const options = { schema } as { schema: string };
    await expectMfaError(() => new PostgresUserStore(db, options), 'invalid_option');
    await expectMfaError(() => new PostgresRecoveryCodeStore(db, options), 'invalid_option');
    await expectMfaError(migrate(db, options), 'invalid_option');
    await expectMfaError(() => migrationSql(schema as string), 'invalid_option');
    expect(queried).toBe(0);
  });

  it.each(['public', 'a', '_', 'auth', 'twofold_2', 'a'.repeat(63)])('accepts schema %s and quotes it as an identifier', (schema) => {
    expect(migrationSql(schema)).toContain(`"${schema}".twofold_users`);
  });

  it.each([[null], [undefined], [{}], [{ query: 'SELECT 1' }], ['postgres://localhost/db']])('refuses a client without query() (%s) with MfaError invalid_option', async (db) => {
    await expectMfaError(() => new PostgresUserStore(db as unknown as Queryable), 'invalid_option');
    await expectMfaError(() => new PostgresRecoveryCodeStore(db as unknown as Queryable), 'invalid_option');
    await expectMfaError(migrate(db as unknown as Queryable), 'invalid_option');
  });

  it('never loads pg at run time: the adapter imports only types from it', () => {
    const dir = fileURLToPath(new URL('../../src/stores/postgres/', import.meta.url));
    for (const file of readdirSync(dir)) {
      const source = readFileSync(`${dir}${file}`, 'utf8');
      expect(source, file).not.toMatch(/^\s*import\s+(?!type\b)[^;]*from\s+['"]pg['"]/m);
      expect(source, file).not.toMatch(/require\(\s*['"]pg['"]\s*\)|import\(\s*['"]pg['"]\s*\)/);
    }
  });
});

describe.skipIf(skip)('PostgreSQL adapter: stores', () => {
  let pool: pg.Pool;
  let schema: string;
  let users: PostgresUserStore;
  let codes: PostgresRecoveryCodeStore;

  beforeAll(async () => {
    pool = createPool({ applicationName: 'twofold_test_specifics' });
    schema = freshSchemaName();
    await migrate(pool, { schema });
    ({ users, recoveryCodes: codes } = storesOn(pool, schema));
  });

  afterAll(async () => {
    await dropSchema(pool, schema);
  });

  it.each([...BAD_LIMITS.map(([name, limit]) => [`page size ${name}`, limit, null]), ...BAD_CURSORS.map(([name, cursor]) => [`cursor ${name}`, 10, cursor])])(
    'scan refuses a %s with MfaError invalid_argument',
    async (_, limit, cursor) => {
      await expectMfaError(users.scan(cursor as string | null, limit as number), 'invalid_argument');
    },
  );

  it('keys rows by SHA-256 of the UTF-8 user id, and keeps the record as its exact JSON text', async () => {
    const userId = `key-${hash()}`;
    const record = sampleRecord();
    expect(await users.put(userId, record, null)).toBe(true);
    const { rows } = await pool.query(
      `SELECT user_key, record, version FROM "${schema}".twofold_users WHERE user_key = sha256(convert_to($1, 'UTF8'))`,
      [userId],
    );
    expect(rows).toHaveLength(1);
    expect(Buffer.compare(rows[0].user_key, createHash('sha256').update(userId).digest())).toBe(0);
    expect(rows[0].record).toBe(JSON.stringify(record));
    expect(rows[0].version).toBe('1');
  });

  it('returns version and countUnused as JS numbers', async () => {
    const userId = `numbers-${hash()}`;
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    expect(await users.put(userId, sampleRecord(), 1)).toBe(true);
    expect(typeof (await users.get(userId))!.version).toBe('number');
    expect((await users.get(userId))!.version).toBe(2);
    await codes.replace(userId, [hash(), hash()], 1);
    const count = await codes.countUnused(userId);
    expect(typeof count).toBe('number');
    expect(count).toBe(2);
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

  const malformed: Array<[string, unknown]> = [...MALFORMED_HASHES, ['SQL', `${'a'.repeat(60)}');--`]];

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

  it('accepts the largest safe generation, and keeps generations per user', async () => {
    const userId = `max-generation-${hash()}`;
    const set = [hash()];
    await codes.replace(userId, set, Number.MAX_SAFE_INTEGER);
    await codes.replace(userId, [hash()], Number.MAX_SAFE_INTEGER - 1);
    expect(await codes.consume(userId, set[0]!)).toBe(true);
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

  it('records when each code was used', async () => {
    const userId = `used-at-${hash()}`;
    const set = [hash(), hash(), hash()];
    await codes.replace(userId, set, 1);
    await codes.consume(userId, set[1]!);
    const { rows } = await pool.query(
      `SELECT generation, hashes, used_at FROM "${schema}".twofold_recovery_codes WHERE user_key = sha256(convert_to($1, 'UTF8'))`,
      [userId],
    );
    expect(rows[0].generation).toBe('1');
    expect(rows[0].hashes.map((b: Buffer) => b.toString('hex'))).toEqual(set);
    expect(rows[0].used_at.map((t: Date | null) => t !== null)).toEqual([false, true, false]);
  });

  it('stores in two schemas share nothing', async () => {
    const other = freshSchemaName();
    await migrate(pool, { schema: other });
    try {
      const elsewhere = storesOn(pool, other);
      const userId = `two-schemas-${hash()}`;
      const shared = hash();
      expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      await codes.replace(userId, [shared], 1);
      expect(await elsewhere.users.get(userId)).toBeNull();
      expect(await elsewhere.recoveryCodes.consume(userId, shared)).toBe(false);
      expect(await elsewhere.users.put(userId, sampleRecord({ failures: 3 }), null)).toBe(true);
      expect((await users.get(userId))?.record.failures).toBe(sampleRecord().failures);
    } finally {
      await pool.query(`DROP SCHEMA "${other}" CASCADE`);
    }
  });

  it('works over a pg Client and over any object with query(text, values)', async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const calls: string[] = [];
      const wrapper: Queryable = {
        query: (text, values) => {
          calls.push(text);
          return pool.query(text, values);
        },
      };
      for (const db of [client, wrapper] as Queryable[]) {
        const u = new PostgresUserStore(db, { schema });
        const c = new PostgresRecoveryCodeStore(db, { schema });
        const userId = `client-${hash()}`;
        const set = [hash(), hash()];
        expect(await u.put(userId, sampleRecord(), null)).toBe(true);
        expect(await u.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
        await c.replace(userId, set, 1);
        expect(await c.consume(userId, set[0]!)).toBe(true);
        expect(await c.countUnused(userId)).toBe(1);
      }
      expect(calls.length).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });
});

// ---- migrate ----

describe.skipIf(skip)('migrate', () => {
  let pool: pg.Pool;
  const schemas: string[] = [];

  beforeAll(() => {
    pool = createPool({ applicationName: 'twofold_test_migrate', max: 10 });
  });

  afterAll(async () => {
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  async function tablesOf(schema: string): Promise<string[]> {
    const { rows } = await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [schema]);
    return rows.map((row) => row.table_name as string);
  }

  it('creates the schema and tables, and running it again keeps them and their rows', async () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    await migrate(pool, { schema });
    expect(await tablesOf(schema)).toEqual(['twofold_recovery_codes', 'twofold_users']);
    const { users, recoveryCodes } = storesOn(pool, schema);
    const set = [hash(), hash()];
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    await recoveryCodes.replace('alice', set, 1);
    await migrate(pool, { schema });
    await migrate(pool, { schema });
    expect(await tablesOf(schema)).toEqual(['twofold_recovery_codes', 'twofold_users']);
    expect(await users.get('alice')).toEqual({ record: sampleRecord(), version: 1 });
    expect(await recoveryCodes.countUnused('alice')).toBe(2);
  });

  it('is safe when five app servers migrate a fresh schema at once (three rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const schema = freshSchemaName();
      schemas.push(schema);
      const servers = Array.from({ length: 5 }, () => createPool({ max: 1 }));
      try {
        const outcomes = await Promise.allSettled(servers.map((server) => migrate(server, { schema })));
        expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
      } finally {
        await Promise.all(servers.map((server) => server.end()));
      }
      expect(await tablesOf(schema)).toEqual(['twofold_recovery_codes', 'twofold_users']);
      const { users } = storesOn(pool, schema);
      expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    }
  });

  it('with the default schema, creates the tables in public (inside a transaction rolled back)', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await migrate(client);
      const { rows } = await client.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'twofold\\_%' ORDER BY table_name`,
      );
      expect(rows.map((row) => row.table_name)).toEqual(['twofold_recovery_codes', 'twofold_users']);
      const users = new PostgresUserStore(client);
      const userId = `public-${hash()}`;
      expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('a users table from before user_id: migrate adds the column; its old rows are counted as unnamed by scan until a write names them', async () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    // The table as migrationSql made it before twofold kept user ids, with a row written then.
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".twofold_users (
      user_key bytea PRIMARY KEY CHECK (octet_length(user_key) = 32), record text NOT NULL, version bigint NOT NULL CHECK (version >= 1))`);
    const legacy = "legacy \u0000 o'brien";
    await pool.query(`INSERT INTO "${schema}".twofold_users (user_key, record, version) VALUES ($1, $2, 3)`, [
      createHash('sha256').update(legacy, 'utf8').digest(),
      JSON.stringify(sampleRecord()),
    ]);
    await migrate(pool, { schema });
    await migrate(pool, { schema });
    const { users } = storesOn(pool, schema);
    expect(await users.get(legacy)).toEqual({ record: sampleRecord(), version: 3 });
    expect(await users.put('fresh', sampleRecord(), null)).toBe(true);
    expect(await users.scan(null, 10)).toEqual({ userIds: ['fresh'], cursor: null, unnamed: 1 });
    // Its next write names it.
    expect(await users.put(legacy, sampleRecord({ failures: 1 }), 3)).toBe(true);
    expect(new Set((await users.scan(null, 10)).userIds)).toEqual(new Set(['fresh', legacy]));
    expect((await users.scan(null, 10)).unnamed).toBeUndefined();
  });

  it('sql/postgres.sql is exactly migrationSql("public")', () => {
    const file = readFileSync(fileURLToPath(new URL('../../sql/postgres.sql', import.meta.url)), 'utf8');
    expect(file).toBe(migrationSql('public'));
    expect(migrationSql()).toBe(migrationSql('public'));
  });

  it('migrationSql creates the schema only when it is not public, and every statement is idempotent', () => {
    expect(migrationSql('public')).not.toContain('CREATE SCHEMA');
    expect(migrationSql('auth')).toContain('CREATE SCHEMA IF NOT EXISTS "auth";');
    for (const sql of [migrationSql('public'), migrationSql('auth')]) {
      const creates = sql.match(/^CREATE .*$/gm) ?? [];
      expect(creates.length).toBeGreaterThanOrEqual(2);
      for (const line of creates) expect(line).toMatch(/IF NOT EXISTS/);
      expect(sql).toMatch(/^SELECT pg_advisory_xact_lock\(\d+\);/m);
    }
  });
});
