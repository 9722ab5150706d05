/**
 * Several app servers on one database: the replay rule, single-use recovery
 * codes and the lockout count must hold across processes, not only across
 * promises. Two MfaService instances on two pools in this process, then two
 * separate Node processes (test/support/verify-worker.ts), race on one user;
 * the scenarios are test/support/race-scenarios.ts, shared with Redis.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as races from '../support/race-scenarios.ts';
import { postgresSkipReason } from '../support/services.ts';
import { createPool, dropSchema, freshSchemaName, storesOn } from './postgres-stores.ts';

const skip = await postgresSkipReason();
const STORES_MODULE = fileURLToPath(new URL('./postgres-stores.ts', import.meta.url));

describe.skipIf(skip)('PostgreSQL: races between app servers', () => {
  let schema: string;
  let pools: pg.Pool[];
  const engine: races.RaceEngine = {
    stores: (connection) => storesOn(pools[connection]!, schema),
    storesModule: STORES_MODULE,
    storesOptions: () => ({ schema }),
  };

  beforeAll(async () => {
    schema = freshSchemaName();
    pools = [createPool({ max: 10 }), createPool({ max: 10 })];
    await (await import('twofold/adapters/postgres')).migrate(pools[0]!, { schema });
  });

  afterAll(async () => {
    await pools[1]?.end();
    if (pools[0]) await dropSchema(pools[0], schema);
  });

  it(`two services, two pools: ${races.RACERS} parallel verifyLogin of one TOTP code, exactly one success`, async () => {
    const { counts } = await races.oneTotpCodeOnTwoServices(engine);
    expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['ok']));
  });

  it(`two services, two pools: ${races.RACERS} parallel verifyLogin of one recovery code, exactly one success and one code spent`, async () => {
    const { bed, userId, codes } = await races.oneRecoveryCodeOnTwoServices(engine);
    const [, b] = bed.servers;
    await b.unlock(userId);
    const again = await b.verifyLogin((await bed.challenges(userId, 1))[0]!, { recoveryCode: codes[0]! });
    expect(again).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it(`two Node processes, ${races.RACERS / 2} calls each with one TOTP code: exactly one success in total`, async () => {
    await races.oneTotpCodeInTwoProcesses(engine);
  });

  it(`two Node processes, ${races.RACERS / 2} calls each with one recovery code: exactly one success, one code spent`, async () => {
    const { bed, userId, codes } = await races.oneRecoveryCodeInTwoProcesses(engine);
    expect((await bed.servers[0].status(userId)).recoveryCodesRemaining).toBe(codes.length - 1);
  });

  it('two Node processes, 3 wrong codes each, maxFailures 5: the account locks, counting failures from both', async () => {
    const { bed, userId, lockedUntil } = await races.failuresLockInTwoProcesses(engine);
    // Every server sees the lock: no new challenge until it ends.
    for (const server of bed.servers) expect(await server.startLogin(userId)).toMatchObject({ ok: false, reason: 'locked', retryAt: lockedUntil });
  });

  it(`two Node processes, ${races.RACERS / 2} wrong codes each, maxFailures 100: the failure count is exactly ${races.RACERS}`, async () => {
    await races.failuresCountedInTwoProcesses(engine, races.RACERS, { maxFailures: 100, hardLimit: 100 });
  });
});
