/**
 * Shared set-up for the MySQL adapter tests (against MariaDB): small pools on
 * the test server, a fresh table prefix per test file (or test), and
 * `makeStores` for the verify worker (test/support/verify-worker.ts) of the
 * multi-process races.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { migrate, MysqlRecoveryCodeStore, MysqlUserStore } from 'twofold/adapters/mysql';
import { MYSQL_URL } from '../support/services.ts';

const OURS = /^twofold_test_[0-9a-f]+_$/;

/** A table prefix no other run uses: `twofold_test_<random>_`. */
export function freshPrefix(): string {
  return `twofold_test_${randomBytes(5).toString('hex')}_`;
}

export interface TestPoolOptions {
  /**
   * Default 4. Test files run in parallel against one server
   * (max_connections 151 shared by every file), so every pool stays small.
   */
  max?: number;
  /** mysql2's `charset`; default its own (utf8mb4). */
  charset?: string;
  /** mysql2's `flags`, e.g. `['-FOUND_ROWS']`. */
  flags?: string[];
  /** Another server address (a proxy); default the test server. */
  uri?: string;
}

/** A mysql2 promise Pool on the test server, with the server thread ids of every connection it opened. */
export interface TestPool extends mysql.Pool {
  /** Thread ids (`CONNECTION_ID()`) of the connections this pool opened, so a test can kill exactly these. */
  readonly threadIds: number[];
}

export function createPool(options: TestPoolOptions = {}): TestPool {
  const pool = mysql.createPool({
    uri: options.uri ?? MYSQL_URL,
    connectionLimit: options.max ?? 4,
    ...(options.charset ? { charset: options.charset } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  }) as TestPool;
  const threadIds: number[] = [];
  Object.defineProperty(pool, 'threadIds', { value: threadIds });
  pool.on('connection', (connection) => {
    threadIds.push(connection.threadId);
  });
  return pool;
}

/** A pool and a fresh, migrated table prefix on it. */
export async function freshTables(options: TestPoolOptions = {}): Promise<{ pool: TestPool; tablePrefix: string }> {
  const pool = createPool(options);
  const tablePrefix = freshPrefix();
  await migrate(pool, { tablePrefix });
  return { pool, tablePrefix };
}

/** Drops the tables of `tablePrefix` (only ever one of ours). */
export async function dropTables(pool: mysql.Pool, tablePrefix: string): Promise<void> {
  if (!OURS.test(tablePrefix)) throw new Error(`refusing to drop the tables of prefix ${tablePrefix}`);
  await pool.query(`DROP TABLE IF EXISTS \`${tablePrefix}users\`, \`${tablePrefix}recovery_codes\``);
}

/** Drops the test tables and closes the pool. */
export async function dropTablesAndEnd(pool: mysql.Pool, tablePrefix: string): Promise<void> {
  try {
    await dropTables(pool, tablePrefix);
  } finally {
    await pool.end();
  }
}

/** Both stores over one pool, with `tablePrefix` (already migrated). */
export function storesOn(pool: mysql.Pool, tablePrefix: string): { users: MysqlUserStore; recoveryCodes: MysqlRecoveryCodeStore } {
  return { users: new MysqlUserStore(pool, { tablePrefix }), recoveryCodes: new MysqlRecoveryCodeStore(pool, { tablePrefix }) };
}

/** For the verify worker: stores over a pool of its own (another process, other connections) on migrated tables. */
export async function makeStores(options: { tablePrefix: string }): Promise<{
  users: MysqlUserStore;
  recoveryCodes: MysqlRecoveryCodeStore;
  close(): Promise<void>;
}> {
  const pool = createPool({ max: 6 });
  return { ...storesOn(pool, options.tablePrefix), close: () => pool.end() };
}
