/**
 * The example host on the shared engines (issue: several app servers):
 * `npm start` with DATABASE_URL or REDIS_URL opens the adapter (running
 * `migrate` for PostgreSQL) and says so; and the whole journey works with
 * twofold's state in PostgreSQL and in Redis. Each run uses its own schema
 * or key prefix, removed afterwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoresConfig } from '../../../examples/express/config.ts';
import { openStores, type OpenStores } from '../../../examples/express/stores.ts';
import { POSTGRES_URL, REDIS_URL, postgresSkipReason, redisSkipReason } from '../../support/services.ts';
import { Client, loginWithCode, signupAndEnroll, startServer, submitPassword, textOf } from './helpers.ts';
import { npmStart, START_TIMEOUT_MS, stopAll } from './npm-start.ts';

const postgresSkip = await postgresSkipReason();
const redisSkip = await redisSkipReason();
const KEY = randomBytes(32).toString('base64');
const SCHEMA = `twofold_example_${randomBytes(4).toString('hex')}`;

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  await stopAll();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The journey of the quick start, on a server whose twofold state lives in `stores`. */
async function journey(stores: OpenStores) {
  const server = await startServer({ stores });
  cleanups.push(() => server.close());
  const client = new Client(server.baseUrl);
  const user = await signupAndEnroll(server, client);
  expect(await server.mfa.status(server.accounts.byUsername(user.username)!.id)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10 });
  await client.post('/logout', { _csrf: await client.csrf('/account') });

  const login = await loginWithCode(server, client, user);
  expect(login).toMatchObject({ status: 303, location: '/account' });
  await client.post('/logout', { _csrf: await client.csrf('/account') });

  // Lost phone: the password and a recovery code.
  expect((await submitPassword(client, user)).location).toBe('/login/mfa');
  const recovered = await client.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[0]! });
  expect(recovered).toMatchObject({ status: 303, location: '/account' });
  expect(textOf((await client.get('/account')).body)).toContain('9 recovery codes left');
  return { server, userId: server.accounts.byUsername(user.username)!.id };
}

describe.skipIf(postgresSkip !== null)('the example host on PostgreSQL (DATABASE_URL)', () => {
  it('npm start migrates the schema and says where MFA state lives', async () => {
    const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    cleanups.push(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
      await admin.end();
    });
    const started = await npmStart({ TWOFOLD_SECRET_KEY: KEY, DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: SCHEMA, REDIS_URL: undefined });
    // Printed right after the "listening" line that npmStart waits for.
    await expect.poll(() => started.stdout(), { timeout: 5_000 }).toContain(`MFA state: PostgreSQL at ${new URL(POSTGRES_URL).host}/test (schema ${SCHEMA})`);
    expect((await fetch(`${started.baseUrl}/`)).status).toBe(200);
    const tables = await admin.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [SCHEMA]);
    expect(tables.rows.map((row: { table_name: string }) => row.table_name)).toEqual(['twofold_recovery_codes', 'twofold_users']);
  }, START_TIMEOUT_MS + 10_000);

  it('runs the whole journey with twofold state in PostgreSQL', async () => {
    const config: StoresConfig = { kind: 'postgres', url: POSTGRES_URL, schema: `${SCHEMA}_journey` };
    const stores = await openStores(config);
    const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    cleanups.push(async () => {
      await stores.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${config.schema} CASCADE`);
      await admin.end();
    });
    await journey(stores);
    const rows = await admin.query(`SELECT count(*)::int AS n FROM ${config.schema}.twofold_users`);
    expect(rows.rows[0].n).toBe(1);
  });
});

describe.skipIf(redisSkip !== null)('the example host on Redis (REDIS_URL)', () => {
  it('npm start connects and says where MFA state lives', async () => {
    const started = await npmStart({ TWOFOLD_SECRET_KEY: KEY, REDIS_URL, DATABASE_URL: undefined });
    await expect.poll(() => started.stdout(), { timeout: 5_000 }).toContain(`MFA state: Redis at ${new URL(REDIS_URL).host}`);
    expect((await fetch(`${started.baseUrl}/`)).status).toBe(200);
  }, START_TIMEOUT_MS + 10_000);

  it('runs the whole journey with twofold state in Redis', async () => {
    const stores = await openStores({ kind: 'redis', url: REDIS_URL });
    const redis = new Redis(REDIS_URL);
    let keys: string[] = [];
    cleanups.push(async () => {
      await stores.close();
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const { userId } = await journey(stores);
    // The example's Redis stores use the default 'twofold:' prefix, keyed by a hash of the user id.
    const hash = createHash('sha256').update(userId, 'utf8').digest('hex');
    keys = [`twofold:user:{${hash}}`, `twofold:codes:{${hash}}`];
    expect(await redis.exists(...keys)).toBe(2);
  });
});
