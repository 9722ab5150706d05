/**
 * The races between app servers that every shared adapter must survive
 * (test/stores/postgres-races.test.ts, test/stores/redis-races.test.ts): the
 * replay rule, single-use recovery codes and the lockout count must hold
 * across processes, not only across promises. Each scenario enrolls a fresh
 * user, races on it (two MfaService instances on two connections in this
 * process, or two Node processes through test/support/race.ts), asserts what
 * must hold on any engine, and returns what an adapter's file checks further.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import {
  MfaService,
  type MfaServiceOptions,
  type Proof,
  type RecoveryCodeStore,
  type UserStore,
  type VerifyLoginResult,
} from 'twofold';
import { codeAt, ok, SECOND, T0, wrongCodeAt } from '../service/fixtures.ts';
import { raceInProcesses, type WorkerPlan } from './race.ts';

/** Calls in each race of many: one challenge each, half per server or process. */
export const RACERS = 50;
const STEP = 30 * SECOND;
const LOCKOUT_AFTER_5 = { maxFailures: 5, baseMs: 60 * SECOND, maxMs: 3600 * SECOND };

/** How the scenarios reach one engine; read only once the file's connections are open. */
export interface RaceEngine {
  /** Both stores over connection 0 or 1: the first and the second app server. */
  stores(connection: 0 | 1): { users: UserStore; recoveryCodes: RecoveryCodeStore };
  /** Absolute path of the module the verify worker loads `makeStores` from. */
  storesModule: string;
  /** What the worker passes to `makeStores`. */
  storesOptions(): unknown;
}

type Outcome = VerifyLoginResult | { error: string };
type Work = Array<{ challenge: string; proof: Proof }>;

/** How many results of each kind: `ok`, a failure reason, or `error: …` for a rejection in a worker. */
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

let userCounter = 0;

/** Two app servers on one engine, with a clock only the test moves. */
export class TwoServers {
  readonly secretKey = randomBytes(32).toString('hex');
  now = T0;
  readonly servers: [MfaService, MfaService];

  constructor(readonly engine: RaceEngine) {
    this.servers = [this.service(0), this.service(1)];
  }

  /** A service over `connection`, with the shared key and clock. */
  service(connection: 0 | 1, lockout?: MfaServiceOptions['lockout']): MfaService {
    return new MfaService({
      issuer: 'Race',
      secretKey: this.secretKey,
      ...this.engine.stores(connection),
      now: () => this.now,
      ...(lockout ? { lockout } : {}),
    });
  }

  /** A user enrolled through the first server, with codes revealed; the clock moves to a fresh step. */
  async enroll(): Promise<{ userId: string; secret: string; codes: string[] }> {
    const userId = `racer-${++userCounter}-${randomBytes(4).toString('hex')}`;
    const [a] = this.servers;
    const begun = ok(await a.beginEnrollment(userId, { accountName: 'racer@example.com' }));
    ok(await a.confirmEnrollment(userId, codeAt(begun.secret, this.now)));
    const { codes } = ok(await a.revealRecoveryCodes(userId));
    this.now += STEP;
    return { userId, secret: begun.secret, codes };
  }

  /** `count` challenges, each from one of the two servers in turn. */
  async challenges(userId: string, count: number): Promise<string[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const started = await this.servers[i % 2]!.startLogin(userId);
        if (!started.ok || !started.mfaRequired) throw new Error(`startLogin: ${JSON.stringify(started)}`);
        return started.challenge;
      }),
    );
  }

  /** One verifyLogin per challenge, all at once, on the two servers in turn. */
  raceTwoServices(challenges: string[], proof: Proof): Promise<VerifyLoginResult[]> {
    return Promise.all(challenges.map((challenge, i) => this.servers[i % 2]!.verifyLogin(challenge, proof)));
  }

  /** Split the work in two halves and race them in two Node processes; the results of both. */
  async raceTwoProcesses(work: Work, lockout?: WorkerPlan['lockout']): Promise<Outcome[]> {
    const half = Math.ceil(work.length / 2);
    const plan = (part: Work): WorkerPlan => ({
      storesModule: this.engine.storesModule,
      storesOptions: this.engine.storesOptions(),
      secretKey: this.secretKey,
      now: this.now,
      ...(lockout ? { lockout } : {}),
      work: part,
    });
    const results = await raceInProcesses([plan(work.slice(0, half)), plan(work.slice(half))]);
    expect(results.map((r) => r.length)).toEqual([half, work.length - half]);
    return results.flat();
  }

  /** The stored record, read through the second server's connection. */
  async record(userId: string) {
    return (await this.engine.stores(1).users.get(userId))?.record;
  }

  /** Unused recovery codes, counted through the second server's connection. */
  unusedCodes(userId: string): Promise<number> {
    return this.engine.stores(1).recoveryCodes.countUnused(userId);
  }
}

/** Exactly one success, every other call replayed or locked out; the step is spent. */
async function expectOneTotpSuccess(bed: TwoServers, userId: string, results: Outcome[]) {
  const counts = tally(results);
  expect(counts.ok, JSON.stringify(counts)).toBe(1);
  for (const key of Object.keys(counts)) expect(['ok', 'replayed', 'locked']).toContain(key);
  expect((await bed.record(userId))!.lastStep).toBe(Math.floor(bed.now / STEP));
  return counts;
}

/** Exactly one success, every other call refused or locked out; one code spent. */
async function expectOneRecoverySuccess(bed: TwoServers, userId: string, codes: string[], results: Outcome[]) {
  const counts = tally(results);
  expect(counts.ok, JSON.stringify(counts)).toBe(1);
  for (const key of Object.keys(counts)) expect(['ok', 'invalid_code', 'locked']).toContain(key);
  expect(await bed.unusedCodes(userId)).toBe(codes.length - 1);
}

/** {@link RACERS} logins with one TOTP code on two services at once: exactly one succeeds. */
export async function oneTotpCodeOnTwoServices(engine: RaceEngine) {
  const bed = new TwoServers(engine);
  const { userId, secret } = await bed.enroll();
  const challenges = await bed.challenges(userId, RACERS);
  const counts = await expectOneTotpSuccess(bed, userId, await bed.raceTwoServices(challenges, { totp: codeAt(secret, bed.now) }));
  return { bed, userId, counts };
}

/** {@link RACERS} logins with one recovery code on two services at once: exactly one succeeds, one code is spent. */
export async function oneRecoveryCodeOnTwoServices(engine: RaceEngine) {
  const bed = new TwoServers(engine);
  const { userId, codes } = await bed.enroll();
  const challenges = await bed.challenges(userId, RACERS);
  await expectOneRecoverySuccess(bed, userId, codes, await bed.raceTwoServices(challenges, { recoveryCode: codes[0]! }));
  return { bed, userId, codes };
}

/** {@link RACERS} logins with one TOTP code, half in each of two processes: exactly one succeeds. */
export async function oneTotpCodeInTwoProcesses(engine: RaceEngine) {
  const bed = new TwoServers(engine);
  const { userId, secret } = await bed.enroll();
  const proof = { totp: codeAt(secret, bed.now) };
  const work = (await bed.challenges(userId, RACERS)).map((challenge) => ({ challenge, proof }));
  await expectOneTotpSuccess(bed, userId, await bed.raceTwoProcesses(work));
  return { bed, userId };
}

/** {@link RACERS} logins with one recovery code, half in each of two processes: exactly one succeeds, one code is spent. */
export async function oneRecoveryCodeInTwoProcesses(engine: RaceEngine) {
  const bed = new TwoServers(engine);
  const { userId, codes } = await bed.enroll();
  const proof = { recoveryCode: codes[3]! };
  const work = (await bed.challenges(userId, RACERS)).map((challenge) => ({ challenge, proof }));
  await expectOneRecoverySuccess(bed, userId, codes, await bed.raceTwoProcesses(work));
  return { bed, userId, codes };
}

/** Wrong codes, 3 in each of two processes, maxFailures 5: failures 1-4 are counted, the 5th locks, the 6th finds the lock. */
export async function failuresLockInTwoProcesses(engine: RaceEngine) {
  const bed = new TwoServers(engine);
  const { userId, secret } = await bed.enroll();
  const proof = { totp: wrongCodeAt(secret, bed.now) };
  const work = (await bed.challenges(userId, 6)).map((challenge) => ({ challenge, proof }));
  const results = await bed.raceTwoProcesses(work, LOCKOUT_AFTER_5);
  const counts = tally(results);
  expect(counts, JSON.stringify(counts)).toEqual({ invalid_code: 4, locked: 2 });
  // Each counted failure saw a different count: no two read the same version and both wrote.
  const attemptsLeft = results.filter((r) => !('error' in r) && !r.ok && r.reason === 'invalid_code').map(attemptsLeftOf);
  expect(attemptsLeft.sort()).toEqual([1, 2, 3, 4]);
  const lockedUntil = bed.now + LOCKOUT_AFTER_5.baseMs;
  expect(await bed.record(userId)).toMatchObject({ failures: 0, failuresSinceSuccess: 5, lockCount: 1, lockedUntil, lockReason: 'failures' });
  expect(await bed.service(1, LOCKOUT_AFTER_5).status(userId)).toMatchObject({ state: 'locked', lockedUntil });
  return { bed, userId, lockedUntil };
}

/** `racers` wrong codes, half in each of two processes, below the lockout: every failure counted exactly once. */
export async function failuresCountedInTwoProcesses(engine: RaceEngine, racers: number, lockout: { maxFailures: number; hardLimit?: number }) {
  const bed = new TwoServers(engine);
  const { userId, secret } = await bed.enroll();
  const proof = { totp: wrongCodeAt(secret, bed.now) };
  const work = (await bed.challenges(userId, racers)).map((challenge) => ({ challenge, proof }));
  const results = await bed.raceTwoProcesses(work, lockout);
  expect(tally(results)).toEqual({ invalid_code: racers });
  // Each failure was written on top of all the others: every count was seen once.
  const attemptsLeft = results.map(attemptsLeftOf).sort((x, y) => x - y);
  expect(attemptsLeft).toEqual(Array.from({ length: racers }, (_, i) => lockout.maxFailures - racers + i));
  expect(await bed.record(userId)).toMatchObject({ failures: racers, failuresSinceSuccess: racers, lockCount: 0, lockedUntil: null });
  return { bed, userId };
}
