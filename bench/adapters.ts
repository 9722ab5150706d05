/**
 * verifyLogin over each store adapter at concurrency 1 and 16 (ops/s and
 * p99), beside the memory stores in the same run. PostgreSQL and Redis run
 * on this same machine; each gets a fresh schema / key prefix, removed after.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { MemoryRecoveryCodeStore, MemoryUserStore, type RecoveryCodeStore, type UserStore } from '../src/index.ts';
import { migrate, PostgresRecoveryCodeStore, PostgresUserStore } from '../src/stores/postgres/index.ts';
import { RedisRecoveryCodeStore, RedisUserStore } from '../src/stores/redis/index.ts';
import { printTable, type Result } from './harness.ts';
import { enrollFleet, measureVerifyLogin } from './service.ts';

const USERS = Number(process.env.BENCH_ADAPTER_USERS ?? 2000);
const POSTGRES_URL = process.env.TWOFOLD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TWOFOLD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Engine {
  name: string;
  stores: { users: UserStore; recoveryCodes: RecoveryCodeStore };
  close(): Promise<void>;
}

async function memory(): Promise<Engine> {
  return { name: 'memory', stores: { users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() }, close: async () => {} };
}

async function postgres(): Promise<Engine> {
  const schema = `twofold_bench_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 16 });
  await migrate(pool, { schema });
  return {
    name: 'postgres',
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

export async function benchAdapters(): Promise<void> {
  const rows: Array<{ result: Result; baseline?: Result; target?: string }> = [];
  let memoryAt16: Result | undefined;
  for (const open of [memory, postgres, redis]) {
    const engine = await open();
    try {
      const fleet = await enrollFleet(USERS, engine.stores, `${engine.name}-user`);
      for (const concurrency of [1, 16]) {
        const result = await measureVerifyLogin(`verifyLogin ${engine.name}, concurrency ${concurrency}`, fleet, concurrency, 5);
        if (engine.name === 'memory' && concurrency === 16) memoryAt16 = result;
        rows.push({
          result,
          ...(concurrency === 16 && engine.name !== 'memory' ? { baseline: memoryAt16 } : {}),
          ...(engine.name === 'postgres' && concurrency === 16 ? { target: '≥ 2,000 ops/s' } : {}),
        });
      }
    } finally {
      await engine.close();
    }
  }
  printTable(`verifyLogin per store adapter (${USERS} users, valid TOTP, fresh challenge each; ratio to memory at concurrency 16)`, rows);
}
