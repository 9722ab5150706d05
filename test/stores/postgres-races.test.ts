/**
 * Several app servers on one database: the replay rule, single-use recovery
 * codes and the lockout count must hold across processes, not only across
 * promises. Two MfaService instances on two pools in this process, then two
 * separate Node processes (test/support/verify-worker.ts), race on one user.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MfaService, type MfaServiceOptions, type Proof, type VerifyLoginResult } from 'twofold';
import { raceInProcesses, type WorkerPlan } from '../support/race.ts';
import { postgresSkipReason } from '../support/services.ts';
import { codeAt, ok, SECOND, T0, wrongCodeAt } from '../service/fixtures.ts';
import { createPool, dropSchema, freshSchemaName, storesOn } from './postgres-stores.ts';

const skip = await postgresSkipReason();
const STORES_MODULE = fileURLToPath(new URL('./postgres-stores.ts', import.meta.url));
const SECRET_KEY = randomBytes(32).toString('hex');
const STEP = 30 * SECOND;
const RACERS = 50;

type Outcome = VerifyLoginResult | { error: string };

function tally(results: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = 'error' in r ? `error: ${r.error}` : r.ok ? 'ok' : r.reason;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function attemptsLeftOf(result: Outcome): number {
  return 'attemptsLeft' in result && typeof result.attemptsLeft === 'number' ? result.attemptsLeft : -1;
}

describe.skipIf(skip)('PostgreSQL: races between app servers', () => {
  let schema: string;
  let pools: pg.Pool[];
  let servers: MfaService[];
  let now = T0;
  let userCounter = 0;

  function service(pool: pg.Pool, lockout?: MfaServiceOptions['lockout']): MfaService {
    return new MfaService({
      issuer: 'Race',
      secretKey: SECRET_KEY,
      ...storesOn(pool, schema),
      now: () => now,
      ...(lockout ? { lockout } : {}),
    });
  }

  beforeAll(async () => {
    schema = freshSchemaName();
    pools = [createPool({ max: 20 }), createPool({ max: 20 })];
    await (await import('twofold/adapters/postgres')).migrate(pools[0]!, { schema });
    servers = pools.map((pool) => service(pool));
  });

  afterAll(async () => {
    await pools[1]?.end();
    if (pools[0]) await dropSchema(pools[0], schema);
  });

  /** A user enrolled through server A, with codes revealed; the clock moves to a fresh step. */
  async function enroll(): Promise<{ userId: string; secret: string; codes: string[] }> {
    const userId = `racer-${++userCounter}-${randomBytes(4).toString('hex')}`;
    const [a] = servers;
    const begun = ok(await a!.beginEnrollment(userId, { accountName: 'racer@example.com' }));
    ok(await a!.confirmEnrollment(userId, codeAt(begun.secret, now)));
    const { codes } = ok(await a!.revealRecoveryCodes(userId));
    now += STEP;
    return { userId, secret: begun.secret, codes };
  }

  /** `count` challenges, each from one of the two servers in turn. */
  async function challenges(userId: string, count: number): Promise<string[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const started = await servers[i % 2]!.startLogin(userId);
        if (!started.ok || !started.mfaRequired) throw new Error(`startLogin: ${JSON.stringify(started)}`);
        return started.challenge;
      }),
    );
  }

  /** Split the work in two halves and race them in two Node processes; the results of both. */
  async function raceTwoProcesses(work: Array<{ challenge: string; proof: Proof }>, lockout?: WorkerPlan['lockout']): Promise<Outcome[]> {
    const half = Math.ceil(work.length / 2);
    const plan = (part: typeof work): WorkerPlan => ({
      storesModule: STORES_MODULE,
      storesOptions: { schema },
      secretKey: SECRET_KEY,
      now,
      ...(lockout ? { lockout } : {}),
      work: part,
    });
    const results = await raceInProcesses([plan(work.slice(0, half)), plan(work.slice(half))]);
    expect(results.map((r) => r.length)).toEqual([half, work.length - half]);
    return results.flat();
  }

  it(`two services, two pools: ${RACERS} parallel verifyLogin of one TOTP code, exactly one success`, async () => {
    const { userId, secret } = await enroll();
    const list = await challenges(userId, RACERS);
    const code = codeAt(secret, now);
    const results = await Promise.all(list.map((challenge, i) => servers[i % 2]!.verifyLogin(challenge, { totp: code })));
    const counts = tally(results);
    expect(counts.ok, JSON.stringify(counts)).toBe(1);
    expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['ok']));
    for (const key of Object.keys(counts)) expect(['ok', 'replayed', 'locked']).toContain(key);
    const record = (await storesOn(pools[1]!, schema).users.get(userId))!.record;
    expect(record.lastStep).toBe(Math.floor(now / STEP));
  });

  it(`two services, two pools: ${RACERS} parallel verifyLogin of one recovery code, exactly one success and one code spent`, async () => {
    const { userId, codes } = await enroll();
    const list = await challenges(userId, RACERS);
    const results = await Promise.all(list.map((challenge, i) => servers[i % 2]!.verifyLogin(challenge, { recoveryCode: codes[0]! })));
    const counts = tally(results);
    expect(counts.ok, JSON.stringify(counts)).toBe(1);
    for (const key of Object.keys(counts)) expect(['ok', 'invalid_code', 'locked']).toContain(key);
    const { recoveryCodes } = storesOn(pools[0]!, schema);
    expect(await recoveryCodes.countUnused(userId)).toBe(codes.length - 1);
    await servers[1]!.unlock(userId);
    const again = await servers[1]!.verifyLogin((await challenges(userId, 1))[0]!, { recoveryCode: codes[0]! });
    expect(again).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it(`two Node processes, ${RACERS / 2} calls each with one TOTP code: exactly one success in total`, async () => {
    const { userId, secret } = await enroll();
    const code = codeAt(secret, now);
    const work = (await challenges(userId, RACERS)).map((challenge) => ({ challenge, proof: { totp: code } }));
    const counts = tally(await raceTwoProcesses(work));
    expect(counts.ok, JSON.stringify(counts)).toBe(1);
    for (const key of Object.keys(counts)) expect(['ok', 'replayed', 'locked']).toContain(key);
    const record = (await storesOn(pools[0]!, schema).users.get(userId))!.record;
    expect(record.lastStep).toBe(Math.floor(now / STEP));
  });

  it(`two Node processes, ${RACERS / 2} calls each with one recovery code: exactly one success, one code spent`, async () => {
    const { userId, codes } = await enroll();
    const work = (await challenges(userId, RACERS)).map((challenge) => ({ challenge, proof: { recoveryCode: codes[3]! } }));
    const counts = tally(await raceTwoProcesses(work));
    expect(counts.ok, JSON.stringify(counts)).toBe(1);
    for (const key of Object.keys(counts)) expect(['ok', 'invalid_code', 'locked']).toContain(key);
    expect(await storesOn(pools[0]!, schema).recoveryCodes.countUnused(userId)).toBe(codes.length - 1);
    expect((await servers[0]!.status(userId)).recoveryCodesRemaining).toBe(codes.length - 1);
  });

  it('two Node processes, 3 wrong codes each, maxFailures 5: the account locks, counting failures from both', async () => {
    const lockout = { maxFailures: 5, baseMs: 60_000, maxMs: 3_600_000 };
    const { userId, secret } = await enroll();
    const wrong = wrongCodeAt(secret, now);
    const work = (await challenges(userId, 6)).map((challenge) => ({ challenge, proof: { totp: wrong } }));
    const results = await raceTwoProcesses(work, lockout);
    // Failures 1-4 are counted, the 5th locks, the 6th finds the lock and is not evaluated.
    expect(tally(results)).toEqual({ invalid_code: 4, locked: 2 });
    const attemptsLeft = results.filter((r) => !('error' in r) && !r.ok && r.reason === 'invalid_code').map(attemptsLeftOf);
    expect(attemptsLeft.sort()).toEqual([1, 2, 3, 4]);
    const record = (await storesOn(pools[0]!, schema).users.get(userId))!.record;
    expect(record).toMatchObject({ failures: 0, failuresSinceSuccess: 5, lockCount: 1, lockedUntil: now + 60_000, lockReason: 'failures' });
    expect(await service(pools[1]!, lockout).status(userId)).toMatchObject({ state: 'locked', lockedUntil: now + 60_000 });
    // Every server sees the lock: no new challenge until it ends.
    for (const server of servers) expect(await server.startLogin(userId)).toMatchObject({ ok: false, reason: 'locked', retryAt: now + 60_000 });
  });

  it(`two Node processes, ${RACERS / 2} wrong codes each, maxFailures 100: the failure count is exactly ${RACERS}`, async () => {
    const lockout = { maxFailures: 100, hardLimit: 100 };
    const { userId, secret } = await enroll();
    const wrong = wrongCodeAt(secret, now);
    const work = (await challenges(userId, RACERS)).map((challenge) => ({ challenge, proof: { totp: wrong } }));
    const results = await raceTwoProcesses(work, lockout);
    expect(tally(results)).toEqual({ invalid_code: RACERS });
    // Each failure was written on top of all the others: every count from 1 to 50 was seen once.
    const attemptsLeft = results.map(attemptsLeftOf).sort((x, y) => x - y);
    expect(attemptsLeft).toEqual(Array.from({ length: RACERS }, (_, i) => 100 - RACERS + i));
    const stored = await storesOn(pools[0]!, schema).users.get(userId);
    expect(stored?.record).toMatchObject({ failures: RACERS, failuresSinceSuccess: RACERS, lockCount: 0, lockedUntil: null });
  });
});
