/**
 * Several app servers on one Redis: the replay rule, single-use recovery
 * codes and the lockout count must hold across processes, not only across
 * promises. Two MfaService instances on two clients in this process, then
 * two separate Node processes (test/support/verify-worker.ts), race on one
 * user; the scenarios are test/support/race-scenarios.ts, shared with
 * PostgreSQL.
 */
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import * as races from '../support/race-scenarios.ts';
import { redisSkipReason } from '../support/services.ts';
import { connect, deleteKeys, freshPrefix, type RedisStoresOptions } from './redis-stores.ts';

const skip = await redisSkipReason();
const STORES_MODULE = fileURLToPath(new URL('./redis-stores.ts', import.meta.url));

describe.skipIf(skip !== null)('Redis: races between app servers', () => {
  const keyPrefix = freshPrefix();
  let clients: Redis[];
  const engine: races.RaceEngine = {
    stores: (connection) => ({
      users: new RedisUserStore(clients[connection]!, { keyPrefix }),
      recoveryCodes: new RedisRecoveryCodeStore(clients[connection]!, { keyPrefix }),
    }),
    storesModule: STORES_MODULE,
    storesOptions: (): RedisStoresOptions => ({ keyPrefix }),
  };

  beforeAll(() => {
    clients = [connect(), connect()];
  });

  afterAll(async () => {
    await deleteKeys(clients[0]!, keyPrefix);
    await Promise.all(clients.map((client) => client.quit()));
  });

  it(`two services, two clients: ${races.RACERS} parallel verifyLogin of one TOTP code, exactly one success`, async () => {
    await races.oneTotpCodeOnTwoServices(engine);
  });

  it(`two services, two clients: ${races.RACERS} parallel verifyLogin of one recovery code, exactly one success and one code spent`, async () => {
    await races.oneRecoveryCodeOnTwoServices(engine);
  });

  it(`two Node processes, ${races.RACERS / 2} calls each: one TOTP code, exactly one success in total`, async () => {
    await races.oneTotpCodeInTwoProcesses(engine);
  });

  it(`two Node processes, ${races.RACERS / 2} calls each: one recovery code, exactly one success and one code spent`, async () => {
    await races.oneRecoveryCodeInTwoProcesses(engine);
  });

  it('two Node processes, 3 wrong codes each with maxFailures 5: every failure counted once, the fifth locks', async () => {
    await races.failuresLockInTwoProcesses(engine);
  });

  it('two Node processes, 3 wrong codes each with maxFailures 10: exactly 6 failures counted, not locked', async () => {
    await races.failuresCountedInTwoProcesses(engine, 6, { maxFailures: 10 });
  });
});
