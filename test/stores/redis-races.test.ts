/**
 * Several app servers on one Redis: the replay rule, single-use recovery
 * codes and the lockout count must hold across processes, not only across
 * promises. Two MfaService instances on two clients in this process, then
 * two separate Node processes (test/support/verify-worker.ts), race on one
 * user.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MfaService, type MfaServiceOptions, type Proof, type VerifyLoginResult } from 'twofold';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import { codeAt, ok, SECOND, T0, wrongCodeAt } from '../service/fixtures.ts';
import { raceInProcesses, type WorkerPlan } from '../support/race.ts';
import { redisSkipReason } from '../support/services.ts';
import { connect, deleteKeys, freshPrefix, type RedisStoresOptions } from './redis-stores.ts';

const skip = await redisSkipReason();
const STORES_MODULE = fileURLToPath(new URL('./redis-stores.ts', import.meta.url));
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

describe.skipIf(skip !== null)('Redis: races between app servers', () => {
  const keyPrefix = freshPrefix();
  let clients: Redis[];
  let servers: MfaService[];
  let now = T0;
  let userCounter = 0;

  function service(client: Redis, lockout?: MfaServiceOptions['lockout']): MfaService {
    return new MfaService({
      issuer: 'Race',
      secretKey: SECRET_KEY,
      users: new RedisUserStore(client, { keyPrefix }),
      recoveryCodes: new RedisRecoveryCodeStore(client, { keyPrefix }),
      now: () => now,
      ...(lockout ? { lockout } : {}),
    });
  }

  beforeAll(() => {
    clients = [connect(), connect()];
    servers = clients.map((client) => service(client));
  });

  afterAll(async () => {
    await deleteKeys(clients[0]!, keyPrefix);
    await Promise.all(clients.map((client) => client.quit()));
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
    const storesOptions: RedisStoresOptions = { keyPrefix };
    const plan = (part: typeof work): WorkerPlan => ({
      storesModule: STORES_MODULE,
      storesOptions,
      secretKey: SECRET_KEY,
      now,
      ...(lockout ? { lockout } : {}),
      work: part,
    });
    const results = await raceInProcesses([plan(work.slice(0, half)), plan(work.slice(half))]);
    expect(results.map((r) => r.length)).toEqual([half, work.length - half]);
    return results.flat();
  }

  const record = async (userId: string) => (await new RedisUserStore(clients[1]!, { keyPrefix }).get(userId))!.record;
  const unused = (userId: string) => new RedisRecoveryCodeStore(clients[1]!, { keyPrefix }).countUnused(userId);

  it(`two services, two clients: ${RACERS} parallel verifyLogin of one TOTP code, exactly one success`, async () => {
    const { userId, secret } = await enroll();
    const list = await challenges(userId, RACERS);
    const code = codeAt(secret, now);
    const counts = tally(await Promise.all(list.map((challenge, i) => servers[i % 2]!.verifyLogin(challenge, { totp: code }))));
    expect(counts.ok, JSON.stringify(counts)).toBe(1);
    for (const key of Object.keys(counts)) expect(['ok', 'replayed', 'locked']).toContain(key);
    expect((await record(userId)).lastStep).toBe(Math.floor(now / STEP));
  });

  it(`two services, two clients: ${RACERS} parallel verifyLogin of one recovery code, exactly one success and one code spent`, async () => {
    const { userId, codes } = await enroll();
    const list = await challenges(userId, RACERS);
    const counts = tally(await Promise.all(list.map((challenge, i) => servers[i % 2]!.verifyLogin(challenge, { recoveryCode: codes[0]! }))));
    expect(counts.ok, JSON.stringify(counts)).toBe(1);
    for (const key of Object.keys(counts)) expect(['ok', 'invalid_code', 'locked']).toContain(key);
    expect(await unused(userId)).toBe(codes.length - 1);
  });

  it(`two Node processes, ${RACERS / 2} calls each: one TOTP code, exactly one success in total`, async () => {
    const { userId, secret } = await enroll();
    const list = await challenges(userId, RACERS);
    const code = codeAt(secret, now);
    const counts = tally(await raceTwoProcesses(list.map((challenge) => ({ challenge, proof: { totp: code } }))));
    expect(counts.ok, JSON.stringify(counts)).toBe(1);
    for (const key of Object.keys(counts)) expect(['ok', 'replayed', 'locked']).toContain(key);
    expect((await record(userId)).lastStep).toBe(Math.floor(now / STEP));
  });

  it(`two Node processes, ${RACERS / 2} calls each: one recovery code, exactly one success and one code spent`, async () => {
    const { userId, codes } = await enroll();
    const list = await challenges(userId, RACERS);
    const counts = tally(await raceTwoProcesses(list.map((challenge) => ({ challenge, proof: { recoveryCode: codes[3]! } }))));
    expect(counts.ok, JSON.stringify(counts)).toBe(1);
    for (const key of Object.keys(counts)) expect(['ok', 'invalid_code', 'locked']).toContain(key);
    expect(await unused(userId)).toBe(codes.length - 1);
  });

  it('two Node processes, 3 wrong codes each with maxFailures 5: every failure counted once, the fifth locks', async () => {
    const { userId, secret } = await enroll();
    const lockout = { maxFailures: 5, baseMs: 60 * SECOND, maxMs: 3600 * SECOND };
    const list = await challenges(userId, 6);
    const wrong = wrongCodeAt(secret, now);
    const results = await raceTwoProcesses(list.map((challenge) => ({ challenge, proof: { totp: wrong } })), lockout);
    const counts = tally(results);
    expect(counts, JSON.stringify(counts)).toEqual({ invalid_code: 4, locked: 2 });
    // Each counted failure saw a different count: no two read the same version and both wrote.
    const left = results.flatMap((r) => ('attemptsLeft' in r && typeof r.attemptsLeft === 'number' ? [r.attemptsLeft] : [])).sort();
    expect(left).toEqual([1, 2, 3, 4]);
    const locked = await record(userId);
    expect(locked).toMatchObject({ failures: 0, failuresSinceSuccess: 5, lockCount: 1, lockedUntil: now + 60 * SECOND, lockReason: 'failures' });
    expect(await servers[1]!.status(userId)).toMatchObject({ state: 'locked', lockedUntil: now + 60 * SECOND });
  });

  it('two Node processes, 3 wrong codes each with maxFailures 10: exactly 6 failures counted, not locked', async () => {
    const { userId, secret } = await enroll();
    const list = await challenges(userId, 6);
    const wrong = wrongCodeAt(secret, now);
    const results = await raceTwoProcesses(list.map((challenge) => ({ challenge, proof: { totp: wrong } })), { maxFailures: 10 });
    expect(tally(results)).toEqual({ invalid_code: 6 });
    expect(results.map((r) => ('attemptsLeft' in r ? r.attemptsLeft : -1)).sort()).toEqual([4, 5, 6, 7, 8, 9]);
    expect(await record(userId)).toMatchObject({ failures: 6, failuresSinceSuccess: 6, lockCount: 0, lockedUntil: null });
  });
});
