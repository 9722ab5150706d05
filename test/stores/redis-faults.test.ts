/**
 * The Redis connection dropped between and during operations. The decided
 * behaviour: with ioredis's defaults (re-send what was in flight after the
 * reconnect), every operation completes exactly once, even when Redis ran a
 * script and only its reply was lost; with `maxRetriesPerRequest: 0`, an
 * operation in flight rejects (MaxRetriesPerRequestError) and Redis holds
 * either the old or the new state, never a mix. Either way the next call
 * works after the reconnect.
 *
 * Connections are dropped with CLIENT KILL ID from a second client, or by
 * the fault proxy (redis-proxy.ts) right after Redis answered.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Redis, RedisOptions } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MfaService, type MfaRecord, type RecoveryCodeStore, type UserStore } from 'twofold';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import { sampleRecord } from 'twofold/testing';
import { CLEAR, CONSUME, PUT, RESTORE } from '../../src/stores/redis/scripts.ts';
import { codeAt, ok, SECOND, T0 } from '../service/fixtures.ts';
import { redisSkipReason } from '../support/services.ts';
import { FaultProxy } from './redis-proxy.ts';
import { connect, deleteKeys, freshPrefix } from './redis-stores.ts';

const skip = await redisSkipReason();
const RUN = freshPrefix();

const hash = (): string => randomBytes(32).toString('hex');
const hashes = (count: number): string[] => Array.from({ length: count }, hash);

let killerClient: Redis | undefined;
/** The client that kills the others, and reads what Redis holds. */
function killer(): Redis {
  killerClient ??= connect();
  return killerClient;
}

/** Clients and proxies of one test, closed after it. */
const opened: Array<{ close(): Promise<unknown> | void }> = [];

afterEach(async () => {
  for (const resource of opened.splice(0)) await resource.close();
});

afterAll(async () => {
  if (skip) return;
  await deleteKeys(killer(), RUN);
  await killer().quit();
});

/** A victim client (through `url` when given) and stores over it, plus stores over the killer's connection. */
async function setup(options: RedisOptions = {}, url?: string) {
  const victim = connect(options, url);
  opened.push({ close: () => victim.disconnect() });
  await victim.ping();
  const keyPrefix = freshPrefix(RUN);
  return {
    victim,
    users: new RedisUserStore(victim, { keyPrefix }),
    codes: new RedisRecoveryCodeStore(victim, { keyPrefix }),
    /** Another app server, on the killer's connection. */
    other: { users: new RedisUserStore(killer(), { keyPrefix }), codes: new RedisRecoveryCodeStore(killer(), { keyPrefix }) },
  };
}

async function kill(victim: Redis): Promise<void> {
  const id = await victim.client('ID');
  expect(await killer().client('KILL', 'ID', String(id))).toBe(1);
}

/**
 * Block the victim's connection for `seconds` (BLPOP on a key nobody
 * writes): commands sent after it wait, unrun, in Redis's input buffer.
 */
function block(victim: Redis, seconds: number): Promise<unknown> {
  return victim.blpop(`${RUN}never-pushed`, seconds).catch((error: unknown) => error);
}

async function settle<T>(promises: Array<Promise<T>>): Promise<Array<{ value: T } | { error: Error }>> {
  return Promise.all(promises.map((p) => p.then((value) => ({ value }), (error: Error) => ({ error }))));
}

/** An MfaService over `users` and `codes` with alice enrolled and her recovery codes revealed; its clock stands one step later. */
async function enrolledAlice(users: UserStore, codes: RecoveryCodeStore) {
  let now = T0;
  const mfa = new MfaService({ issuer: 'Faults', secretKey: randomBytes(32), users, recoveryCodes: codes, now: () => now });
  const begun = ok(await mfa.beginEnrollment('alice', { accountName: 'alice' }));
  ok(await mfa.confirmEnrollment('alice', codeAt(begun.secret, now)));
  const { codes: recovery } = ok(await mfa.revealRecoveryCodes('alice'));
  now += 30 * SECOND;
  return { mfa, secret: begun.secret, recovery, now };
}

/** A login challenge for alice, who has MFA on. */
async function challengeOf(mfa: MfaService): Promise<string> {
  const started = ok(await mfa.startLogin('alice'));
  if (!started.mfaRequired) throw new Error('no challenge');
  return started.challenge;
}

async function proxy(): Promise<FaultProxy> {
  const started = await FaultProxy.start();
  opened.push(started);
  return started;
}

describe.skipIf(skip !== null)('Redis faults: ioredis defaults (in-flight commands re-sent after the reconnect)', () => {
  it('CLIENT KILL between operations: the next calls reconnect and work, each once', async () => {
    const { victim, users, codes } = await setup();
    const set = hashes(3);
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    await codes.replace('alice', set, 1);
    await kill(victim);
    expect(await users.put('alice', sampleRecord({ failures: 1 }), 1)).toBe(true);
    expect(await codes.consume('alice', set[0]!)).toBe(true);
    expect(await users.get('alice')).toEqual({ record: sampleRecord({ failures: 1 }), version: 2 });
    expect(await codes.countUnused('alice')).toBe(2);
  });

  it('CLIENT KILL while writes wait unrun behind a blocked command: all are re-sent and take effect once', async () => {
    const { victim, users, codes, other } = await setup();
    const set = hashes(10);
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    await codes.replace('alice', set, 1);
    const id = await victim.client('ID');
    const blocked = block(victim, 0.2);
    const inFlight = [users.put('alice', sampleRecord({ failures: 1 }), 1), ...set.map((h) => codes.consume('alice', h))];
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Nothing ran yet.
    expect(await other.codes.countUnused('alice')).toBe(10);
    expect(await killer().client('KILL', 'ID', String(id))).toBe(1);
    expect(await Promise.all(inFlight)).toEqual(Array(11).fill(true));
    await blocked;
    expect(await other.users.get('alice')).toEqual({ record: sampleRecord({ failures: 1 }), version: 2 });
    expect(await other.codes.countUnused('alice')).toBe(0);
  });

  it('a consume that ran but whose reply was lost is re-sent and answers true, once: the code is not lost', async () => {
    const faults = await proxy();
    const { codes, other } = await setup({}, faults.url);
    const set = hashes(3);
    await codes.replace('alice', set, 1);
    const cut = faults.cutAfterReply(CONSUME.sha);
    const consumed = codes.consume('alice', set[0]!);
    await cut;
    expect(await consumed).toBe(true);
    expect(await other.codes.countUnused('alice')).toBe(2);
    expect(await other.codes.consume('alice', set[0]!)).toBe(false);
  });

  it('a consume re-sent after another server tried the same code: exactly one of them gets true', async () => {
    const faults = await proxy();
    const { codes, other } = await setup({}, faults.url);
    const set = hashes(3);
    await codes.replace('alice', set, 1);
    const cut = faults.cutAfterReply(CONSUME.sha);
    faults.hold();
    const consumed = codes.consume('alice', set[0]!);
    await cut;
    expect(await other.codes.consume('alice', set[0]!)).toBe(false);
    faults.release();
    expect(await consumed).toBe(true);
    expect(await other.codes.countUnused('alice')).toBe(2);
  });

  it('a record write that ran but whose reply was lost is re-sent and answers true, written once', async () => {
    const faults = await proxy();
    const { users, other } = await setup({}, faults.url);
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    const cut = faults.cutAfterReply(PUT.sha);
    const written = users.put('alice', sampleRecord({ failures: 1 }), 1);
    await cut;
    expect(await written).toBe(true);
    expect(await other.users.get('alice')).toEqual({ record: sampleRecord({ failures: 1 }), version: 2 });
  });

  it('a record write re-sent after another server wrote answers false and never overwrites the newer version', async () => {
    const faults = await proxy();
    const { users, other } = await setup({}, faults.url);
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    const cut = faults.cutAfterReply(PUT.sha);
    faults.hold();
    const written = users.put('alice', sampleRecord({ failures: 1 }), 1);
    await cut;
    expect(await other.users.put('alice', sampleRecord({ failures: 2 }), 2)).toBe(true);
    faults.release();
    // It did write version 2, but cannot tell any more: the service re-reads and decides again.
    expect(await written).toBe(false);
    expect(await other.users.get('alice')).toEqual({ record: sampleRecord({ failures: 2 }), version: 3 });
  });

  it('a restore re-sent after another server used the code leaves the code used: never usable twice', async () => {
    const faults = await proxy();
    const { codes, other } = await setup({}, faults.url);
    const set = hashes(3);
    await codes.replace('alice', set, 1);
    expect(await codes.consume('alice', set[0]!)).toBe(true);
    const cut = faults.cutAfterReply(RESTORE.sha);
    faults.hold();
    const restored = codes.restore('alice', set[0]!);
    await cut;
    // The restore ran: another server is handed the code and uses it.
    expect(await other.codes.consume('alice', set[0]!)).toBe(true);
    faults.release();
    await restored;
    expect(await other.codes.countUnused('alice')).toBe(2);
    expect(await other.codes.consume('alice', set[0]!)).toBe(false);
  });

  it('a clear re-sent after another server stored a newer set leaves the newer set whole', async () => {
    const faults = await proxy();
    const { codes, other } = await setup({}, faults.url);
    await codes.replace('alice', hashes(3), 1);
    const cut = faults.cutAfterReply(CLEAR.sha);
    faults.hold();
    const cleared = codes.clear('alice');
    await cut;
    const fresh = hashes(4);
    await other.codes.replace('alice', fresh, 2);
    faults.release();
    await cleared;
    expect(await other.codes.countUnused('alice')).toBe(4);
    expect(await other.codes.consume('alice', fresh[0]!)).toBe(true);
  });

  it('MfaService: a login whose record write lost its reply still succeeds once (TOTP and recovery code)', async () => {
    const faults = await proxy();
    const { users, codes, other } = await setup({}, faults.url);
    const { mfa, secret, recovery, now } = await enrolledAlice(users, codes);

    const first = await challengeOf(mfa);
    let cut = faults.cutAfterReply(PUT.sha);
    const totp = mfa.verifyLogin(first, { totp: codeAt(secret, now) });
    await cut;
    expect(await totp).toMatchObject({ ok: true, method: 'totp' });
    expect(((await other.users.get('alice'))?.record as MfaRecord).factors[0]).toMatchObject({ lastStep: Math.floor(now / (30 * SECOND)) });

    const second = await challengeOf(mfa);
    cut = faults.cutAfterReply(PUT.sha);
    const viaCode = mfa.verifyLogin(second, { recoveryCode: recovery[0]! });
    await cut;
    expect(await viaCode).toMatchObject({ ok: true, method: 'recovery_code', recoveryCodesRemaining: 9 });
    expect(await other.codes.countUnused('alice')).toBe(9);
  });

  it('CLIENT KILL in the middle of a burst of 200 operations: all complete, each exactly once', async () => {
    for (let round = 0; round < 5; round++) {
      const { victim, users, codes, other } = await setup();
      const set = hashes(10);
      await codes.replace('alice', set, 1);
      expect(await users.put('alice', sampleRecord({ failures: 0 }), null)).toBe(true);
      const id = await victim.client('ID');
      // 150 consumes (15 per code) and 50 read-modify-write loops on one record.
      const consumes = Array.from({ length: 150 }, (_, i) => codes.consume('alice', set[i % 10]!));
      const increments = Array.from({ length: 50 }, async () => {
        for (;;) {
          const current = (await users.get('alice'))!;
          if (await users.put('alice', { ...current.record, failures: current.record.failures + 1 }, current.version)) return;
        }
      });
      await new Promise((resolve) => setTimeout(resolve, round));
      await killer().client('KILL', 'ID', String(id));
      const results = await Promise.all(consumes);
      await Promise.all(increments);
      for (let code = 0; code < 10; code++) {
        expect(results.filter((r, i) => r && i % 10 === code), `code ${code}, round ${round}`).toHaveLength(1);
      }
      expect(await other.codes.countUnused('alice')).toBe(0);
      const stored = (await other.users.get('alice'))!;
      expect(stored.record.failures).toBe(50);
      expect(stored.version).toBe(51);
    }
  });
});

describe.skipIf(skip !== null)('Redis faults: maxRetriesPerRequest 0 (an operation in flight rejects)', () => {
  const options: RedisOptions = { maxRetriesPerRequest: 0 };

  it('CLIENT KILL while writes wait unrun: every one rejects with MaxRetriesPerRequestError, nothing changed, the next call works', async () => {
    const { victim, users, codes, other } = await setup(options);
    const set = hashes(10);
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    await codes.replace('alice', set, 1);
    const id = await victim.client('ID');
    const blocked = block(victim, 5);
    const inFlight = settle<unknown>([users.put('alice', sampleRecord({ failures: 1 }), 1), ...set.map((h) => codes.consume('alice', h))]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await killer().client('KILL', 'ID', String(id))).toBe(1);
    const outcomes = await inFlight;
    for (const outcome of outcomes) {
      expect('error' in outcome && outcome.error.name).toBe('MaxRetriesPerRequestError');
    }
    await blocked;
    // Old state, whole.
    expect(await other.users.get('alice')).toEqual({ record: sampleRecord(), version: 1 });
    expect(await other.codes.countUnused('alice')).toBe(10);
    if (victim.status !== 'ready') await once(victim, 'ready');
    expect(await users.put('alice', sampleRecord({ failures: 1 }), 1)).toBe(true);
    expect(await codes.consume('alice', set[0]!)).toBe(true);
  });

  it('a consume that ran but whose reply was lost rejects; the code is spent (new state), the others untouched', async () => {
    const faults = await proxy();
    const { victim, codes, other } = await setup(options, faults.url);
    const set = hashes(3);
    await codes.replace('alice', set, 1);
    const cut = faults.cutAfterReply(CONSUME.sha);
    const consumed = codes.consume('alice', set[0]!).catch((error: Error) => error);
    await cut;
    expect(((await consumed) as Error).name).toBe('MaxRetriesPerRequestError');
    expect(await other.codes.countUnused('alice')).toBe(2);
    expect(await other.codes.consume('alice', set[0]!)).toBe(false);
    if (victim.status !== 'ready') await once(victim, 'ready');
    expect(await codes.consume('alice', set[1]!)).toBe(true);
  });

  it('MfaService: a recovery-code login whose record write lost its reply rejects; the code is given back and works once', async () => {
    const faults = await proxy();
    const { victim, users, codes, other } = await setup(options, faults.url);
    const { mfa, recovery } = await enrolledAlice(users, codes);

    const first = await challengeOf(mfa);
    const cut = faults.cutAfterReply(PUT.sha);
    const login = mfa.verifyLogin(first, { recoveryCode: recovery[0]! }).catch((error: Error) => error);
    await cut;
    expect(((await login) as Error).name).toBe('MaxRetriesPerRequestError');
    if (victim.status !== 'ready') await once(victim, 'ready');
    // The write committed but nobody was told: no session was made, and the code came back.
    await expect.poll(() => other.codes.countUnused('alice')).toBe(10);
    expect(await mfa.verifyLogin(await challengeOf(mfa), { recoveryCode: recovery[0]! })).toMatchObject({ ok: true, recoveryCodesRemaining: 9 });
    expect(await mfa.verifyLogin(await challengeOf(mfa), { recoveryCode: recovery[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
    expect(await mfa.status('alice')).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 9 });
  });
});

describe.skipIf(skip !== null)('Redis faults: other client options', () => {
  it('maxRetriesPerRequest 2 with Redis unreachable: a call rejects after 3 reconnect attempts (~0.3 s), nothing is written, and works once Redis is back', async () => {
    const faults = await proxy();
    const { victim, users, other } = await setup({ maxRetriesPerRequest: 2 }, faults.url);
    faults.refuse();
    await kill(victim);
    const started = Date.now();
    const error = await users.put('alice', sampleRecord(), null).catch((e: Error) => e);
    expect((error as Error).name).toBe('MaxRetriesPerRequestError');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await other.users.get('alice')).toBeNull();
    faults.release();
    if (victim.status !== 'ready') await once(victim, 'ready');
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
  });

  it('commandTimeout with a Redis that accepts but never answers: the call rejects, and may still run later (here: once)', async () => {
    const faults = await proxy();
    const { victim, users, other } = await setup({ commandTimeout: 300, maxRetriesPerRequest: 2 }, faults.url);
    faults.hold();
    await kill(victim);
    const error = await users.put('alice', sampleRecord(), null).catch((e: Error) => e);
    expect((error as Error).message).toBe('Command timed out');
    expect(await other.users.get('alice')).toBeNull();
    faults.release();
    if (victim.status !== 'ready') await once(victim, 'ready');
    // ioredis still sent the queued command after the reconnect: the outcome of a rejected call is unknown.
    await expect.poll(() => other.users.get('alice')).toEqual({ record: sampleRecord(), version: 1 });
    expect(await users.put('alice', sampleRecord({ failures: 1 }), 1)).toBe(true);
  });

  it('why the docs warn: autoResendUnfulfilledCommands false alone leaves a command in flight at a kill pending forever', async () => {
    const { victim, users } = await setup({ autoResendUnfulfilledCommands: false });
    const id = await victim.client('ID');
    const blocked = block(victim, 5);
    let settled = false;
    void users.get('alice').finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await killer().client('KILL', 'ID', String(id));
    if (victim.status !== 'ready') await once(victim, 'ready');
    expect(await victim.ping()).toBe('PONG');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    void blocked;
  });
});
