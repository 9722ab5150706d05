/**
 * The example host on the shared engines (several app servers): `npm start`
 * with DATABASE_URL=postgres://… or mysql://… creates twofold's tables and
 * the example's own (accounts, sessions) and says where everything lives;
 * with REDIS_URL, twofold's state and the sessions go to Redis and the
 * accounts stay in the database. The whole journey of the quick start then
 * runs with everything in that engine. Each run uses its own schema,
 * database or file, removed afterwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoresConfig } from '../../../examples/express/config.ts';
import { SESSION_KEY_PREFIX } from '../../../examples/express/data/redis.ts';
import { openStores, type OpenStores } from '../../../examples/express/stores.ts';
import { MYSQL_URL, mysqlSkipReason, POSTGRES_URL, postgresSkipReason, REDIS_URL, redisSkipReason } from '../../support/services.ts';
import { freshMysql, freshPostgres, freshSqlite, type FreshDatabase } from './databases.ts';
import { Client, loginWithCode, signupAndEnroll, startServer, submitPassword, textOf } from './helpers.ts';
import { npmStart, START_TIMEOUT_MS, stopAll } from './npm-start.ts';

const postgresSkip = await postgresSkipReason();
const mysqlSkip = await mysqlSkipReason();
const redisSkip = await redisSkipReason();
const SECRETS = { TWOFOLD_SECRET_KEY: randomBytes(32).toString('base64'), SESSION_SECRET: randomBytes(32).toString('base64url') };
const EXAMPLE_TABLES = ['example_accounts', 'example_email_recoveries', 'example_sessions'];

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  await stopAll();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function fresh(make: () => FreshDatabase | Promise<FreshDatabase>): Promise<FreshDatabase> {
  const database = await make();
  cleanups.push(database.drop);
  return database;
}

async function open(config: StoresConfig): Promise<OpenStores> {
  const stores = await openStores(config);
  cleanups.push(() => stores.close());
  return stores;
}

/** The journey of the quick start, on a server whose accounts, sessions and twofold state live in `stores`. */
async function journey(stores: OpenStores) {
  const server = await startServer({ stores, accounts: stores.accounts, sessionStore: stores.sessions });
  cleanups.push(() => server.close());
  const client = new Client(server.baseUrl);
  const user = await signupAndEnroll(server, client);
  const userId = (await stores.accounts.byUsername(user.username))!.id;
  expect(await server.mfa.status(userId)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10 });
  await client.post('/logout', { _csrf: await client.csrf('/account') });

  const login = await loginWithCode(server, client, user);
  expect(login).toMatchObject({ status: 303, location: '/account' });
  await client.post('/logout', { _csrf: await client.csrf('/account') });

  // Lost phone: the password and a recovery code.
  expect((await submitPassword(client, user)).location).toBe('/login/mfa');
  const recovered = await client.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[0]! });
  expect(recovered).toMatchObject({ status: 303, location: '/account' });
  expect(textOf((await client.get('/account')).body)).toContain('9 recovery codes left');
  const sid = /^s:([^.]+)\./.exec(decodeURIComponent(client.cookies.get('twofold.sid')!))![1]!;
  return { server, userId, sid };
}

describe.skipIf(postgresSkip !== null)('the example host on PostgreSQL (DATABASE_URL=postgres://…)', () => {
  it('npm start creates the tables in DATABASE_SCHEMA and says where everything lives', async () => {
    const database = await fresh(freshPostgres);
    const schema = database.config.kind === 'postgres' ? database.config.schema : '';
    const started = await npmStart({ ...SECRETS, ...database.env, REDIS_URL: undefined });
    // Printed right after the "listening" line that npmStart waits for.
    const where = `PostgreSQL at ${new URL(POSTGRES_URL).host}/test (schema ${schema})`;
    await expect.poll(() => started.stdout(), { timeout: 5_000 }).toContain(`MFA state: ${where}`);
    expect(started.stdout()).toContain(`accounts: ${where}`);
    expect(started.stdout()).toContain(`sessions: ${where}`);
    expect((await fetch(`${started.baseUrl}/`)).status).toBe(200);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      const tables = await admin.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
      expect(tables.rows.map((row: { table_name: string }) => row.table_name)).toEqual([...EXAMPLE_TABLES, 'twofold_recovery_codes', 'twofold_users']);
    } finally {
      await admin.end();
    }
  }, START_TIMEOUT_MS + 10_000);

  it('runs the whole journey with accounts, sessions (connect-pg-simple) and twofold state in PostgreSQL', async () => {
    const database = await fresh(freshPostgres);
    const stores = await open({ database: database.config, redis: undefined });
    const { userId, sid } = await journey(stores);
    const schema = database.config.kind === 'postgres' ? database.config.schema : '';
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.twofold_users`)).rows[0].n).toBe(1);
      expect((await admin.query(`SELECT id FROM ${schema}.example_accounts`)).rows).toEqual([{ id: userId }]);
      expect((await admin.query(`SELECT sess->>'userId' AS user_id FROM ${schema}.example_sessions WHERE sid = $1`, [sid])).rows).toEqual([{ user_id: userId }]);
    } finally {
      await admin.end();
    }
  });
});

describe.skipIf(mysqlSkip !== null)('the example host on MariaDB (DATABASE_URL=mysql://…)', () => {
  it('npm start creates the tables and says where everything lives', async () => {
    const database = await fresh(freshMysql);
    const url = database.config.kind === 'mysql' ? new URL(database.config.url) : new URL(MYSQL_URL);
    const started = await npmStart({ ...SECRETS, ...database.env, REDIS_URL: undefined });
    await expect.poll(() => started.stdout(), { timeout: 5_000 }).toContain(`MFA state: MySQL at ${url.host}${url.pathname}`);
    expect(started.stdout()).toContain(`accounts: MySQL at ${url.host}${url.pathname}`);
    expect(started.stdout()).not.toContain('root@');
    expect((await fetch(`${started.baseUrl}/`)).status).toBe(200);
    const admin = await mysql.createConnection({ uri: url.href });
    try {
      const [rows] = await admin.query<mysql.RowDataPacket[]>('SHOW TABLES');
      expect(rows.map((row) => Object.values(row)[0]).sort()).toEqual([...EXAMPLE_TABLES, 'twofold_recovery_codes', 'twofold_users']);
    } finally {
      await admin.end();
    }
  }, START_TIMEOUT_MS + 10_000);

  it('runs the whole journey with accounts, sessions and twofold state in MariaDB', async () => {
    const database = await fresh(freshMysql);
    const stores = await open({ database: database.config, redis: undefined });
    const { userId, sid } = await journey(stores);
    const admin = await mysql.createConnection({ uri: database.config.kind === 'mysql' ? database.config.url : MYSQL_URL });
    try {
      const [users] = await admin.query<mysql.RowDataPacket[]>('SELECT count(*) AS n FROM twofold_users');
      expect(Number(users[0]!.n)).toBe(1);
      const [accounts] = await admin.query<mysql.RowDataPacket[]>('SELECT CAST(id AS CHAR) AS id FROM example_accounts');
      expect(accounts.map((row) => row.id)).toEqual([userId]);
      const [sessions] = await admin.query<mysql.RowDataPacket[]>('SELECT sess FROM example_sessions WHERE sid = ?', [sid]);
      expect(JSON.parse(String(sessions[0]!.sess))).toMatchObject({ userId });
    } finally {
      await admin.end();
    }
  });
});

describe.skipIf(redisSkip !== null)('the example host with REDIS_URL', () => {
  it('npm start keeps twofold state and sessions in Redis, the accounts in the database', async () => {
    const database = await fresh(freshSqlite);
    const started = await npmStart({ ...SECRETS, ...database.env, REDIS_URL });
    const file = database.config.kind === 'sqlite' ? database.config.file : '';
    await expect.poll(() => started.stdout(), { timeout: 5_000 }).toContain(`MFA state: Redis at ${new URL(REDIS_URL).host}`);
    expect(started.stdout()).toContain(`sessions: Redis at ${new URL(REDIS_URL).host}`);
    expect(started.stdout()).toContain(`accounts: SQLite at ${file}`);
    expect((await fetch(`${started.baseUrl}/`)).status).toBe(200);
  }, START_TIMEOUT_MS + 10_000);

  it('runs the whole journey with twofold state and sessions in Redis', async () => {
    const database = await fresh(freshSqlite);
    const stores = await open({ database: database.config, redis: REDIS_URL });
    const redis = new Redis(REDIS_URL);
    let keys: string[] = [];
    cleanups.push(async () => {
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const { userId, sid } = await journey(stores);
    // The example's Redis stores use the default 'twofold:' prefix, keyed by a hash of the user id; sessions example:sess:<id>.
    const hash = createHash('sha256').update(userId, 'utf8').digest('hex');
    keys = [`twofold:user:{${hash}}`, `twofold:codes:{${hash}}`, `${SESSION_KEY_PREFIX}${sid}`];
    expect(await redis.exists(...keys)).toBe(3);
    expect(JSON.parse((await redis.get(`${SESSION_KEY_PREFIX}${sid}`))!)).toMatchObject({ userId });
    // The account itself is in the SQLite file.
    expect((await stores.accounts.byId(userId))?.id).toBe(userId);
  });
});
