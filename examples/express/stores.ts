/**
 * Where the example keeps its data: the accounts (account-store.ts), the
 * sessions (express-session) and twofold's state (MFA records and
 * recovery-code hashes), all in ONE database:
 *
 * - SQLite, the default: one file, `.data/example.db`
 *   (`DATABASE_URL=file:path` for another), created on the first start.
 *   Several processes on this machine may share it.
 * - PostgreSQL (`DATABASE_URL=postgres://…`, schema DATABASE_SCHEMA) or
 *   MySQL/MariaDB (`DATABASE_URL=mysql://…`), shared by several app servers.
 *
 * The tables are created at start (twofold's `migrate`, then the example's
 * own, both idempotent and safe when servers start together). With
 * REDIS_URL, twofold's state and the sessions go to Redis instead; the
 * accounts stay in the database. The adapters and their drivers are loaded
 * only when asked for, as an application would.
 */
import type session from 'express-session';
import type { RecoveryCodeStore, UserStore } from 'twofold';
import type { AccountStore } from './account-store.ts';
import type { DatabaseConfig, StoresConfig } from './config.ts';
import { RowsSessionStore } from './data/session-store.ts';

export interface OpenStores {
  /** twofold's MFA records. */
  users: UserStore;
  /** twofold's recovery-code hashes. */
  recoveryCodes: RecoveryCodeStore;
  /** The example's accounts. */
  accounts: AccountStore;
  /** express-session's store. */
  sessions: session.Store;
  /** Where each lives, for the startup banner; never includes credentials. */
  where: { accounts: string; sessions: string; mfa: string };
  /** Stop timers and close the connections. */
  close(): Promise<void>;
}

interface Opened {
  users: UserStore;
  recoveryCodes: RecoveryCodeStore;
  accounts: AccountStore;
  sessions: session.Store;
  description: string;
  close(): Promise<void>;
}

/** `host:port/database` of a URL: never the user name or password. */
function hostAndPath(url: string): string {
  const { host, pathname } = new URL(url);
  return `${host}${pathname}`;
}

async function openSqliteStores(file: string): Promise<Opened> {
  const { migrate, SqliteRecoveryCodeStore, SqliteUserStore } = await import('twofold/adapters/sqlite');
  const { migrateSqlite, openSqlite, SqliteAccountStore, sqliteSessionRows } = await import('./data/sqlite.ts');
  const db = await openSqlite(file);
  try {
    await migrate(db);
    migrateSqlite(db);
  } catch (error) {
    db.close();
    throw error;
  }
  const sessions = new RowsSessionStore(sqliteSessionRows(db));
  return {
    users: new SqliteUserStore(db),
    recoveryCodes: new SqliteRecoveryCodeStore(db),
    accounts: new SqliteAccountStore(db),
    sessions,
    description: `SQLite at ${file}`,
    close: async () => {
      sessions.close();
      db.close();
    },
  };
}

async function openPostgresStores(url: string, schema: string): Promise<Opened> {
  const { default: pg } = await import('pg');
  const { default: connectPgSimple } = await import('connect-pg-simple');
  const { default: session } = await import('express-session');
  const { migrate, PostgresRecoveryCodeStore, PostgresUserStore } = await import('twofold/adapters/postgres');
  const { migratePostgres, PostgresAccountStore, SESSIONS_TABLE } = await import('./data/postgres.ts');
  const pool = new pg.Pool({ connectionString: url, max: 16, application_name: 'twofold-example' });
  // An idle client whose server connection dies emits 'error' on the pool; the next query reconnects.
  pool.on('error', (error) => console.error(`twofold example: PostgreSQL connection lost (${error.message})`));
  try {
    await migrate(pool, { schema });
    await migratePostgres(pool, schema);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const PgStore = connectPgSimple(session);
  // The table exists (migratePostgres): connect-pg-simple need not create it. It prunes expired rows every 15 minutes.
  const sessions = new PgStore({ pool, schemaName: schema, tableName: SESSIONS_TABLE, createTableIfMissing: false });
  return {
    users: new PostgresUserStore(pool, { schema }),
    recoveryCodes: new PostgresRecoveryCodeStore(pool, { schema }),
    accounts: new PostgresAccountStore(pool, schema),
    sessions,
    description: `PostgreSQL at ${hostAndPath(url)} (schema ${schema})`,
    close: async () => {
      await sessions.close();
      await pool.end();
    },
  };
}

async function openMysqlStores(url: string): Promise<Opened> {
  const { default: mysql } = await import('mysql2/promise');
  const { migrate, MysqlRecoveryCodeStore, MysqlUserStore } = await import('twofold/adapters/mysql');
  const { migrateMysql, MysqlAccountStore, mysqlSessionRows } = await import('./data/mysql.ts');
  const pool = mysql.createPool({ uri: url, connectionLimit: 16 });
  try {
    await migrate(pool);
    await migrateMysql(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const sessions = new RowsSessionStore(mysqlSessionRows(pool));
  return {
    users: new MysqlUserStore(pool),
    recoveryCodes: new MysqlRecoveryCodeStore(pool),
    accounts: new MysqlAccountStore(pool),
    sessions,
    description: `MySQL at ${hostAndPath(url)}`,
    close: async () => {
      sessions.close();
      await pool.end();
    },
  };
}

function openDatabase(config: DatabaseConfig): Promise<Opened> {
  switch (config.kind) {
    case 'sqlite':
      return openSqliteStores(config.file);
    case 'postgres':
      return openPostgresStores(config.url, config.schema);
    case 'mysql':
      return openMysqlStores(config.url);
  }
}

/** twofold's state and the sessions in Redis, on one ioredis client. */
async function openRedis(url: string): Promise<Pick<Opened, 'users' | 'recoveryCodes' | 'sessions' | 'description' | 'close'>> {
  const { Redis } = await import('ioredis');
  const { RedisUserStore, RedisRecoveryCodeStore } = await import('twofold/adapters/redis');
  const { redisSessionRows } = await import('./data/redis.ts');
  // Fail a call after a short retry when Redis is unreachable, instead of queueing it for long.
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const sessions = new RowsSessionStore(redisSessionRows(redis), { pruneEveryMs: 0 });
  return {
    users: new RedisUserStore(redis),
    recoveryCodes: new RedisRecoveryCodeStore(redis),
    sessions,
    description: `Redis at ${new URL(url).host}`,
    close: async () => {
      sessions.close();
      await redis.quit();
    },
  };
}

/** Open (and migrate) the database, and Redis when REDIS_URL is set. */
export async function openStores(config: StoresConfig): Promise<OpenStores> {
  const database = await openDatabase(config.database);
  if (config.redis === undefined) {
    return {
      users: database.users,
      recoveryCodes: database.recoveryCodes,
      accounts: database.accounts,
      sessions: database.sessions,
      where: { accounts: database.description, sessions: database.description, mfa: database.description },
      close: database.close,
    };
  }
  let redis: Awaited<ReturnType<typeof openRedis>>;
  try {
    redis = await openRedis(config.redis);
  } catch (error) {
    await database.close();
    throw error;
  }
  // The database's own session store is not used: stop its pruning timer.
  (database.sessions as { close?: () => unknown }).close?.();
  return {
    users: redis.users,
    recoveryCodes: redis.recoveryCodes,
    accounts: database.accounts,
    sessions: redis.sessions,
    where: { accounts: database.description, sessions: redis.description, mfa: redis.description },
    close: async () => {
      await redis.close();
      await database.close();
    },
  };
}
