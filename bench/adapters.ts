/**
 * verifyLogin over each store adapter at concurrency 1 and 16 (ops/s and
 * p99), beside the memory stores in the same run. PostgreSQL, Redis and
 * MariaDB run on this same machine; each gets a fresh schema / key prefix /
 * table prefix, removed after. SQLite is a temp file in WAL mode; it is
 * synchronous, so it runs at concurrency 1 only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { MemoryRecoveryCodeStore, MemoryUserStore, type RecoveryCodeStore, type UserStore } from '../src/index.ts';
import { migrate, PostgresRecoveryCodeStore, PostgresUserStore } from '../src/stores/postgres/index.ts';
import { RedisRecoveryCodeStore, RedisUserStore } from '../src/stores/redis/index.ts';
import { migrate as migrateSqlite, SqliteRecoveryCodeStore, SqliteUserStore } from '../src/stores/sqlite/index.ts';
import { migrate as migrateMysql, MysqlRecoveryCodeStore, MysqlUserStore } from '../src/stores/mysql/index.ts';
import { userKey } from '../src/stores/user-key.ts';
import { interleavedRounds, measureConcurrent, pairedResult, printPaired, printTable, runCount, type PairedResult, type Result } from './harness.ts';
import { enrollFleet, measureVerifyLogin, prepareLogins, runLogins, type Fleet, type LoginWork } from './service.ts';

const USERS = Number(process.env.BENCH_ADAPTER_USERS ?? 2000);
const POSTGRES_URL = process.env.TWOFOLD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TWOFOLD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MYSQL_URL = process.env.TWOFOLD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

interface Engine {
  name: string;
  /** A raw baseline of the same two statements a login's record needs (PostgreSQL only): one login's worth per call. */
  raw?: (userIds: readonly string[]) => () => Promise<void>;
  /**
   * The same raw loop on a copy of the table, writing back the record it read
   * with one field changed, as every login must change it (PostgreSQL only).
   */
  rawChanged?: (userIds: readonly string[]) => Promise<() => Promise<void>>;
  /** Concurrencies worth measuring (SQLite is synchronous: 1). */
  concurrencies: number[];
  stores: { users: UserStore; recoveryCodes: RecoveryCodeStore };
  close(): Promise<void>;
}

/**
 * What a login cannot do without, through `pg`: read a user's record by
 * primary key, then compare-and-set it (the same text back, or what
 * `rewrite` makes of it). Each call takes the next of `userIds`.
 */
export function rawPgLogin(pool: pg.Pool, table: string, userIds: readonly string[], rewrite?: (record: string) => string): () => Promise<void> {
  let next = 0;
  return async () => {
    const key = userKey(userIds[next++ % userIds.length]!);
    const { rows } = await pool.query(`SELECT record, version FROM ${table} WHERE user_key = $1`, [key]);
    const row = rows[0] as { record: string; version: string };
    const record = rewrite === undefined ? row.record : rewrite(row.record);
    await pool.query(`UPDATE ${table} SET record = $2, version = version + 1 WHERE user_key = $1 AND version = $3 RETURNING 1`, [key, record, row.version]);
  };
}

const LAST_STEP = /"lastStep":(\d+)/;

/**
 * The record with one field changed, as after any login: its TOTP factor's
 * `lastStep`, moved on by one (the text is not parsed). The baseline writes
 * back the very text it read, which no login can; PostgreSQL may log an
 * update as the bytes that differ from the old row, so the raw loop with
 * this rewrite, on a copy of the table (the service's own records stay as
 * they were), checks whether that flatters the baseline.
 */
function nextLastStep(record: string): string {
  return record.replace(LAST_STEP, (_, step: string) => `"lastStep":${Number(step) + 1}`);
}

async function memory(): Promise<Engine> {
  return { name: 'memory', concurrencies: [1, 16], stores: { users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() }, close: async () => {} };
}

async function postgres(): Promise<Engine> {
  const schema = `twofold_bench_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 16 });
  await migrate(pool, { schema });
  const table = `${schema}.twofold_users`;
  return {
    name: 'postgres',
    concurrencies: [1, 16],
    raw: (userIds) => rawPgLogin(pool, table, userIds),
    rawChanged: async (userIds) => {
      const copy = `${schema}.raw_copy`;
      await pool.query(`CREATE TABLE IF NOT EXISTS ${copy} (LIKE ${table} INCLUDING ALL)`);
      await pool.query(`TRUNCATE ${copy}`);
      await pool.query(`INSERT INTO ${copy} SELECT * FROM ${table}`);
      return rawPgLogin(pool, copy, userIds, nextLastStep);
    },
    stores: { users: new PostgresUserStore(pool, { schema }), recoveryCodes: new PostgresRecoveryCodeStore(pool, { schema }) },
    close: async () => {
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    },
  };
}

async function redis(): Promise<Engine> {
  const keyPrefix = `twofold-bench:${randomBytes(4).toString('hex')}:`;
  const client = new Redis(REDIS_URL);
  return {
    name: 'redis',
    concurrencies: [1, 16],
    stores: { users: new RedisUserStore(client, { keyPrefix }), recoveryCodes: new RedisRecoveryCodeStore(client, { keyPrefix }) },
    close: async () => {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await client.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await client.quit();
    },
  };
}

async function sqlite(): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), 'twofold-bench-'));
  const db = new Database(join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  await migrateSqlite(db);
  return {
    name: 'sqlite',
    concurrencies: [1],
    stores: { users: new SqliteUserStore(db), recoveryCodes: new SqliteRecoveryCodeStore(db) },
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mariadb(): Promise<Engine> {
  const tablePrefix = `twofold_bench_${randomBytes(4).toString('hex')}_`;
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 16 });
  await migrateMysql(pool, { tablePrefix });
  return {
    name: 'mysql (MariaDB)',
    concurrencies: [1, 16],
    stores: { users: new MysqlUserStore(pool, { tablePrefix }), recoveryCodes: new MysqlRecoveryCodeStore(pool, { tablePrefix }) },
    close: async () => {
      await pool.query(`DROP TABLE ${tablePrefix}users, ${tablePrefix}recovery_codes`);
      await pool.end();
    },
  };
}

export async function benchAdapters(): Promise<void> {
  const rows: Array<{ result: Result; baseline?: Result; target?: string }> = [];
  let memoryAt16: Result | undefined;
  let postgresAt: Record<number, Result> = {};
  const paired: Array<{ paired: PairedResult; target: string }> = [];
  const rawRows: Array<{ paired: PairedResult; target: string }> = [];
  // BENCH_ENGINES=memory,postgres runs a subset (names as in the table: memory, postgres, mysql, sqlite, redis).
  const only = process.env.BENCH_ENGINES?.split(',').map((s) => s.trim());
  const engines = { memory, postgres, mysql: mariadb, sqlite, redis };
  for (const [key, open] of Object.entries(engines)) {
    if (only && !only.includes(key)) continue;
    const engine = await open();
    try {
      const fleet = await enrollFleet(USERS, engine.stores, `${engine.name}-user`);
      for (const concurrency of engine.concurrencies) {
        const rawLogin = engine.raw?.(fleet.users.map((u) => u.id));
        const rawName = `raw pg: SELECT record + CAS UPDATE by key, concurrency ${concurrency}`;
        const raw = rawLogin ? await measureConcurrent(rawName, rawLogin, concurrency, { rounds: 5 }) : undefined;
        if (raw) rows.push({ result: raw });
        const name = `verifyLogin ${engine.name}, concurrency ${concurrency}`;
        const result = await measureVerifyLogin(name, fleet, concurrency, 5);
        if (raw && rawLogin) {
          rows.push({ result, baseline: raw });
          paired.push({ paired: await measureAgainstRaw(name, fleet, rawName, rawLogin, concurrency), target: concurrency === 1 ? '≥ 0.8×' : '≥ 0.7×' });
          if (engine.rawChanged) {
            const changed = await engine.rawChanged(fleet.users.map((u) => u.id));
            rawRows.push({ paired: await measureRawAgainstRaw(rawName, rawLogin, `raw pg writing a changed record (one field), concurrency ${concurrency}`, changed, fleet.users.length, concurrency), target: '(not a target)' });
          }
          if (engine.name === 'postgres') postgresAt = { ...postgresAt, [concurrency]: result };
          continue;
        }
        if (engine.name === 'memory' && concurrency === 16) memoryAt16 = result;
        if (engine.name === 'postgres') postgresAt = { ...postgresAt, [concurrency]: result };
        // SQL engines beside PostgreSQL at the same concurrency; the rest beside memory at 16.
        const besidePostgres = (engine.name === 'sqlite' || engine.name.startsWith('mysql')) && postgresAt[concurrency];
        rows.push({
          result,
          ...(besidePostgres ? { baseline: postgresAt[concurrency] } : concurrency === 16 && engine.name !== 'memory' ? { baseline: memoryAt16 } : {}),
          ...(engine.name === 'postgres' && concurrency === 16 ? { target: '≥ 2,000 ops/s' } : {}),
        });
      }
    } finally {
      await engine.close();
    }
  }
  printTable(`verifyLogin per store adapter (${USERS} users, valid TOTP, fresh challenge each; SQL engines vs PostgreSQL at the same concurrency, others vs memory at 16)`, rows);
  if (paired.length > 0) printPaired('PostgreSQL verifyLogin against the raw loop, interleaved blocks (the targets)', paired);
  if (rawRows.length > 0) printPaired('The raw loop writing back a changed record against writing back the same text, interleaved blocks (a check on the baseline)', rawRows);
}

/** Blocks of `BENCH_PG_BLOCK` calls per worker (default 20) at `concurrency`, for {@link interleavedRounds}. */
export function pgBlock(concurrency: number): number {
  return concurrency * Number(process.env.BENCH_PG_BLOCK ?? 20);
}

/** Rounds of the interleaved PostgreSQL measurements: `BENCH_PAIRS_PG` (default 9), after one warm-up round. */
export const PG_ROUNDS = Number(process.env.BENCH_PAIRS_PG ?? 9);

/** Two raw loops against each other in {@link interleavedRounds}, `calls` calls of each per pair. */
async function measureRawAgainstRaw(baseName: string, base: () => Promise<void>, candName: string, cand: () => Promise<void>, calls: number, concurrency: number): Promise<PairedResult> {
  const [baseRates, candRates] = (await interleavedRounds(async () => calls, pgBlock(concurrency), PG_ROUNDS, [
    (from, to) => runCount(base, to - from, concurrency),
    (from, to) => runCount(cand, to - from, concurrency),
  ])) as [number[], number[]];
  return pairedResult(baseName, baseRates, candName, candRates);
}

/**
 * verifyLogin against the raw loop, interleaved finely so that both see the
 * same state of the server, its disk and the machine: each pair is one round
 * of verifications (every user once, prepared untimed), cut into blocks of
 * `BENCH_PG_BLOCK` logins per worker (default 20), each block run right
 * beside a block of the raw loop with as many calls at the same concurrency,
 * which goes first alternating. A pair's ratio is the raw loop's time over
 * verifyLogin's for the same number of calls; the figure is the median of
 * `BENCH_PAIRS_PG` pairs (default 9, after one warm-up pair), with its
 * interquartile range. (Pairs of whole rounds, a second or two each, drifted
 * with the disk: the interquartile range of a run's pairs was 0.55–0.80 in
 * one run and 0.68–0.86 in another; interleaved, it is 0.01–0.03 wide.)
 */
async function measureAgainstRaw(name: string, fleet: Fleet, rawName: string, rawLogin: () => Promise<void>, concurrency: number): Promise<PairedResult> {
  let work: LoginWork[] = [];
  const [raw, login] = (await interleavedRounds(async () => (work = await prepareLogins(fleet)).length, pgBlock(concurrency), PG_ROUNDS, [
    (from, to) => runCount(rawLogin, to - from, concurrency),
    (from, to) => runLogins(fleet, work, concurrency, from, to),
  ])) as [number[], number[]];
  return pairedResult(rawName, raw, name, login);
}
