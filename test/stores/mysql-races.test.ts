/**
 * Several app servers on one MariaDB database: the replay rule, single-use
 * recovery codes and the lockout count must hold across processes, not only
 * across promises. Two MfaService instances on two pools in this process,
 * then two separate Node processes (test/support/verify-worker.ts), race on
 * one user; then WebAuthn assertions and remembered-device tokens on two
 * pools. The scenarios are test/support/race-scenarios.ts, shared with
 * PostgreSQL and Redis.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from 'twofold/adapters/mysql';
import * as races from '../support/race-scenarios.ts';
import { mysqlSkipReason } from '../support/services.ts';
import { createPool, dropTablesAndEnd, freshPrefix, storesOn, type TestPool } from './mysql-stores.ts';

const skip = await mysqlSkipReason();
const STORES_MODULE = fileURLToPath(new URL('./mysql-stores.ts', import.meta.url));

describe.skipIf(skip)('MySQL (MariaDB): races between app servers', () => {
  const tablePrefix = freshPrefix();
  let pools: TestPool[];
  const engine: races.RaceEngine = {
    stores: (connection) => storesOn(pools[connection]!, tablePrefix),
    storesModule: STORES_MODULE,
    storesOptions: () => ({ tablePrefix }),
  };

  beforeAll(async () => {
    pools = [createPool({ max: 8 }), createPool({ max: 8 })];
    await migrate(pools[0]!, { tablePrefix });
  });

  afterAll(async () => {
    await pools[1]?.end();
    if (pools[0]) await dropTablesAndEnd(pools[0], tablePrefix);
  });

  it(`two services, two pools: ${races.RACERS} parallel verifyLogin of one TOTP code, exactly one success`, async () => {
    const { counts } = await races.oneTotpCodeOnTwoServices(engine);
    expect(counts.ok).toBe(1);
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
    for (const server of bed.servers) expect(await server.startLogin(userId)).toMatchObject({ ok: false, reason: 'locked', retryAt: lockedUntil });
  });

  it(`two Node processes, ${races.RACERS / 2} wrong codes each, maxFailures 100: the failure count is exactly ${races.RACERS}`, async () => {
    await races.failuresCountedInTwoProcesses(engine, races.RACERS, { maxFailures: 100, hardLimit: 100 });
  });

  // WebAuthn and remembered devices: the same races the other shared stores run (webauthn-races, device-races).

  it(`WebAuthn, two services, two pools: ${races.RACERS} parallel verifyLogin of one assertion on one challenge, exactly one success`, async () => {
    await races.oneWebAuthnAssertionOnTwoServices(engine);
  });

  it(`WebAuthn, two services, two pools: a cloned key, ${races.RACERS} challenges with the same counter, exactly one success, the rest counted`, async () => {
    await races.clonedKeySameCounterOnTwoServices(engine, { maxFailures: 100, hardLimit: 100 });
  });

  it('WebAuthn, two services, two pools: a cloned key with the default lockout: one success, 4 invalid_credential, then locked', async () => {
    await races.clonedKeySameCounterOnTwoServices(engine);
  });

  it(`remembered device, two services, two pools: ${races.RACERS} parallel startLogin with one live token, exactly one skips the second factor; a late copy raises the alarm once`, async () => {
    await races.reusedDeviceTokenOnTwoServices(engine);
  });
});
