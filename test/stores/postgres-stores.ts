/**
 * Shared set-up for the PostgreSQL adapter tests: pools on the test server,
 * a fresh schema per test file, and `makeStores` for the verify worker
 * (test/support/verify-worker.ts) of the multi-process races.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, PostgresRecoveryCodeStore, PostgresUserStore } from 'twofold/adapters/postgres';
import { POSTGRES_URL } from '../support/services.ts';

/** A schema name no other run uses: `twofold_test_<random>`. */
export function freshSchemaName(): string {
  return `twofold_test_${randomBytes(6).toString('hex')}`;
}

/** An application_name no other pool uses, so a test can kill exactly this pool's connections. */
export function freshApplicationName(label = 'pool'): string {
  return `twofold_test_${label}_${randomBytes(4).toString('hex')}`;
}

export interface TestPoolOptions {
  /** Shown in pg_stat_activity; default a fresh name. */
  applicationName?: string;
  /** Default 20: above the 16 concurrent callers of the bench and the 50-way races queue. */
  max?: number;
  /** Receives the 'error' events of idle clients whose connection died. */
  onIdleError?: (error: Error) => void;
}

/**
 * A pg Pool on the test server. An idle client whose server connection is
 * killed emits 'error' on the pool; without a listener that would crash the
 * process, with one the pool drops the client and the next query reconnects.
 */
export function createPool(options: TestPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: POSTGRES_URL,
    // Modest: test files run in parallel against one server (max_connections 100).
    max: options.max ?? 8,
    application_name: options.applicationName ?? freshApplicationName(),
  });
  pool.on('error', options.onIdleError ?? (() => undefined));
  return pool;
}

/** A pool and a fresh, migrated schema on it. */
export async function freshSchema(options: TestPoolOptions = {}): Promise<{ pool: pg.Pool; schema: string }> {
  const pool = createPool(options);
  const schema = freshSchemaName();
  await migrate(pool, { schema });
  return { pool, schema };
}

/** Drops the test schema (name checked: only ever one of ours) and closes the pool. */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  if (!/^twofold_test_[0-9a-f]+$/.test(schema)) throw new Error(`refusing to drop schema ${schema}`);
  try {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await pool.end();
  }
}

/** Both stores over one pool, in `schema` (already migrated). */
export function storesOn(pool: pg.Pool, schema: string): { users: PostgresUserStore; recoveryCodes: PostgresRecoveryCodeStore } {
  return { users: new PostgresUserStore(pool, { schema }), recoveryCodes: new PostgresRecoveryCodeStore(pool, { schema }) };
}

/** For the verify worker: stores over a pool of its own (another process, other connections) on a migrated schema. */
export async function makeStores(options: { schema: string; applicationName?: string }): Promise<{
  users: PostgresUserStore;
  recoveryCodes: PostgresRecoveryCodeStore;
  close(): Promise<void>;
}> {
  const pool = createPool({ applicationName: options.applicationName ?? freshApplicationName('worker') });
  return { ...storesOn(pool, options.schema), close: () => pool.end() };
}
