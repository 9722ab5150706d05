/**
 * Several processes on one SQLite file: the replay rule, single-use recovery
 * codes and the lockout count must hold across processes, not only across
 * promises. Two MfaService instances on two connections to the file in this
 * process, then two separate Node processes (test/support/verify-worker.ts)
 * each with its own connection, race on one user; the scenarios are
 * test/support/race-scenarios.ts, shared with PostgreSQL and Redis. The
 * WebAuthn and remembered-device races run on the two connections too.
 * SQLite is embedded: nothing here ever skips.
 */
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as races from '../support/race-scenarios.ts';
import { freshDatabase, open, removeFiles, storesOn, type SqliteStoresOptions } from './sqlite-stores.ts';

const STORES_MODULE = fileURLToPath(new URL('./sqlite-stores.ts', import.meta.url));

/** Exactly one success however often one assertion or one cloned key is raced; a high limit makes every refusal a counted failure. */
const NO_LOCK = { maxFailures: 100, hardLimit: 100 };

describe('SQLite: races between processes sharing one file', () => {
  let path: string;
  let connections: Database.Database[];
  const engine: races.RaceEngine = {
    stores: (connection) => storesOn(connections[connection]!),
    storesModule: STORES_MODULE,
    storesOptions: (): SqliteStoresOptions => ({ path }),
  };

  beforeAll(async () => {
    const fresh = await freshDatabase();
    path = fresh.path;
    connections = [fresh.db, open(path)];
  });

  afterAll(() => {
    for (const db of connections ?? []) {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    }
    removeFiles();
  });

  it(`two services, two connections: ${races.RACERS} parallel verifyLogin of one TOTP code, exactly one success`, async () => {
    await races.oneTotpCodeOnTwoServices(engine);
  });

  it(`two services, two connections: ${races.RACERS} parallel verifyLogin of one recovery code, exactly one success and one code spent`, async () => {
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

  it(`two services, two connections: ${races.RACERS} parallel verifyLogin of one WebAuthn assertion on one challenge, exactly one success`, async () => {
    await races.oneWebAuthnAssertionOnTwoServices(engine);
  });

  it(`two services, two connections: a cloned key, ${races.RACERS} challenges answered with the same counter, exactly one success`, async () => {
    await races.clonedKeySameCounterOnTwoServices(engine, NO_LOCK);
  });

  it(`two services, two connections: ${races.RACERS} parallel startLogin with one device token, exactly one skips the second factor; later a copy of it raises the alarm once`, async () => {
    await races.reusedDeviceTokenOnTwoServices(engine);
  });
});
