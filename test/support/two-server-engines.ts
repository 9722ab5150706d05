/**
 * The engines the in-process race files run their scenarios on: two
 * MfaService instances over one pair of memory stores, over two PostgreSQL
 * pools, and over two Redis clients. PostgreSQL and Redis skip when the
 * server is not running, except under CI=true (see services.ts).
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { MemoryRecoveryCodeStore, MemoryUserStore } from 'twofold';
import { migrate } from 'twofold/adapters/postgres';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import { createPool, dropSchema, freshSchemaName, storesOn } from '../stores/postgres-stores.ts';
import { connect, deleteKeys, freshPrefix } from '../stores/redis-stores.ts';
import type { InProcessEngine } from './race-scenarios.ts';
import { postgresSkipReason, redisSkipReason } from './services.ts';

const pgSkip = await postgresSkipReason();
const redisSkip = await redisSkipReason();

/** Registers `tests` once per engine, under `${engine}: ${topic}` describes. */
export function onEveryEngine(topic: string, tests: (engine: () => InProcessEngine, what: string) => void): void {
  describe(`memory: ${topic} between two services`, () => {
    tests(() => {
      const stores = { users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() };
      return { stores: () => stores };
    }, 'two services, one pair of memory stores');
  });

  describe.skipIf(pgSkip)(`PostgreSQL: ${topic} between app servers`, () => {
    let schema: string;
    let pools: pg.Pool[];
    beforeAll(async () => {
      schema = freshSchemaName();
      pools = [createPool({ max: 4 }), createPool({ max: 4 })];
      await migrate(pools[0]!, { schema });
    });
    afterAll(async () => {
      await pools[1]?.end();
      if (pools[0]) await dropSchema(pools[0], schema);
    });
    tests(() => ({ stores: (connection) => storesOn(pools[connection]!, schema) }), 'two services, two pools');
  });

  describe.skipIf(redisSkip !== null)(`Redis: ${topic} between app servers`, () => {
    const keyPrefix = freshPrefix();
    let clients: Redis[];
    beforeAll(() => {
      clients = [connect(), connect()];
    });
    afterAll(async () => {
      await deleteKeys(clients[0]!, keyPrefix);
      await Promise.all(clients.map((client) => client.quit()));
    });
    tests(
      () => ({
        stores: (connection) => ({
          users: new RedisUserStore(clients[connection]!, { keyPrefix }),
          recoveryCodes: new RedisRecoveryCodeStore(clients[connection]!, { keyPrefix }),
        }),
      }),
      'two services, two clients',
    );
  });
}
