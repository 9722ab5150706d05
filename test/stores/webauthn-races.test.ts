/**
 * WebAuthn under races between app servers, on every store: the same
 * assertion submitted many times at once on one challenge, and a cloned key
 * (many challenges, each answered with a valid assertion carrying the same
 * signature counter) must each let exactly one login through, and the stored
 * counter must be the accepted one. Two MfaService instances with the
 * WebAuthn plugin race over two pools (PostgreSQL), two clients (Redis), or
 * one pair of memory stores; the scenarios are in
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

/** Exactly one success however often one assertion or one cloned key is raced; a high limit makes every refusal a counted failure. */
const NO_LOCK = { maxFailures: 100, hardLimit: 100 };

function raceTests(engine: () => races.InProcessEngine, what: string): void {
  it(`${what}: ${races.RACERS} parallel verifyLogin of one assertion on one challenge, exactly one success, the rest challenge_invalid`, async () => {
    await races.oneWebAuthnAssertionOnTwoServices(engine());
  });

  it(`${what}: a cloned key, ${races.RACERS} challenges each answered with the same counter, exactly one success, ${races.RACERS - 1} counted invalid_credential`, async () => {
    await races.clonedKeySameCounterOnTwoServices(engine(), NO_LOCK);
  });

  it(`${what}: a cloned key, ${races.RACERS} challenges with the same counter and the default lockout: one success, 4 invalid_credential, then locked`, async () => {
    await races.clonedKeySameCounterOnTwoServices(engine());
  });
}

describe('memory: WebAuthn races between two services', () => {
  raceTests(() => {
    const stores = { users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() };
    return { stores: () => stores };
  }, 'two services, one pair of memory stores');
});

describe.skipIf(pgSkip)('PostgreSQL: WebAuthn races between app servers', () => {
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

describe.skipIf(redisSkip !== null)('Redis: WebAuthn races between app servers', () => {
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
