/**
 * Remembered devices under races between app servers, on every store: 50
 * startLogin calls with the same live device token at once let exactly one
 * skip the second factor (with a rotated token) and give the other 49 a
 * normal challenge without an alarm; later than the grace the raced token is
 * a copy, and 20 parallel presentations of it raise the alarm exactly once.
 * Two MfaService instances race over two pools (PostgreSQL), two clients
 * (Redis), or one pair of memory stores; the scenarios are in
 * test/support/race-scenarios.ts. PostgreSQL and Redis skip when the server
 * is not running, except under CI=true.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { MemoryRecoveryCodeStore, MemoryUserStore } from 'twofold';
import { migrate } from 'twofold/adapters/postgres';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import * as races from '../support/race-scenarios.ts';
import { postgresSkipReason, redisSkipReason } from '../support/services.ts';
import { createPool, dropSchema, freshSchemaName, storesOn } from './postgres-stores.ts';
import { connect, deleteKeys, freshPrefix } from './redis-stores.ts';

const pgSkip = await postgresSkipReason();
const redisSkip = await redisSkipReason();

function raceTests(engine: () => races.InProcessEngine, what: string): void {
  it(`${what}: ${races.RACERS} parallel startLogin with one live device token, exactly one skips the second factor with a new token, ${races.RACERS - 1} get a normal challenge, no alarm; the new token works`, async () => {
    await races.oneDeviceTokenOnTwoServices(engine());
  });

  it(`${what}: after the grace the raced token, presented ${races.DEVICE_REUSERS} times at once, raises device.token_reused exactly once and forgets the device`, async () => {
    await races.reusedDeviceTokenOnTwoServices(engine());
  });
}

describe('memory: remembered-device races between two services', () => {
  raceTests(() => {
    const stores = { users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() };
    return { stores: () => stores };
  }, 'two services, one pair of memory stores');
});

describe.skipIf(pgSkip)('PostgreSQL: remembered-device races between app servers', () => {
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

  raceTests(() => ({ stores: (connection) => storesOn(pools[connection]!, schema) }), 'two services, two pools');
});

describe.skipIf(redisSkip !== null)('Redis: remembered-device races between app servers', () => {
  const keyPrefix = freshPrefix();
  let clients: Redis[];

  beforeAll(() => {
    clients = [connect(), connect()];
  });

  afterAll(async () => {
    await deleteKeys(clients[0]!, keyPrefix);
    await Promise.all(clients.map((client) => client.quit()));
  });

  raceTests(
    () => ({
      stores: (connection) => ({
        users: new RedisUserStore(clients[connection]!, { keyPrefix }),
        recoveryCodes: new RedisRecoveryCodeStore(clients[connection]!, { keyPrefix }),
      }),
    }),
    'two services, two clients',
  );
});
