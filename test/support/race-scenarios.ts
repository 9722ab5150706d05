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
  type MfaEvent,
  type MfaRecord,
  type MfaServiceOptions,
  type Proof,
  type RecoveryCodeStore,
  type UserStore,
  type VerifyLoginResult,
  type WebAuthnFactorRecord,
} from 'twofold';
import { webauthn } from 'twofold/webauthn';
import { SoftAuthenticator } from '../webauthn/soft-authenticator.ts';
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
  readonly secretKey = `hex:${randomBytes(32).toString('hex')}`;
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
    return (await this.engine.stores(1).users.get(userId))?.record as MfaRecord | undefined;
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
  expect((await bed.record(userId))!.factors[0]).toMatchObject({ lastStep: Math.floor(bed.now / STEP) });
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

// ---- WebAuthn: one assertion, or one cloned key, raced on two app servers ----

/** The relying party of the WebAuthn races. */
export const WEBAUTHN_RP = { rpId: 'example.com', rpName: 'Example', origins: ['https://example.com'] };
const WEBAUTHN_ORIGIN = 'https://example.com';

/** Both stores over connection 0 or 1; the WebAuthn races need no second process. */
export type InProcessEngine = Pick<RaceEngine, 'stores'>;

/** Two app servers with the WebAuthn plugin on one engine, a clock only the test moves, and every event of both. */
export class TwoWebAuthnServers {
  readonly secretKey = `hex:${randomBytes(32).toString('hex')}`;
  now = T0;
  readonly events: MfaEvent[] = [];
  readonly servers: [MfaService, MfaService];

  constructor(
    readonly engine: InProcessEngine,
    readonly lockout?: MfaServiceOptions['lockout'],
  ) {
    this.servers = [this.service(0), this.service(1)];
  }

  service(connection: 0 | 1): MfaService {
    return new MfaService({
      issuer: 'Race',
      secretKey: this.secretKey,
      ...this.engine.stores(connection),
      now: () => this.now,
      webauthn: webauthn(WEBAUTHN_RP),
      onEvent: (event) => {
        this.events.push(event);
      },
      ...(this.lockout ? { lockout: this.lockout } : {}),
    });
  }

  /** A user whose only factor is `key` (registered through the first server with counter `counter`). */
  async register(key: SoftAuthenticator, counter: number): Promise<{ userId: string; factorId: string }> {
    const userId = `webauthn-racer-${++userCounter}-${randomBytes(4).toString('hex')}`;
    const [a] = this.servers;
    const begun = ok(await a.beginWebAuthnRegistration(userId, { userName: 'racer@example.com' }));
    const response = key.register({ challenge: begun.options.challenge, origin: WEBAUTHN_ORIGIN, rpId: WEBAUTHN_RP.rpId, counter });
    const { factorId } = ok(await a.finishWebAuthnRegistration(userId, response));
    this.now += STEP;
    return { userId, factorId };
  }

  /** `count` login challenges, each from one of the two servers in turn, with the WebAuthn challenge of each. */
  async challenges(userId: string, count: number): Promise<Array<{ challenge: string; webauthnChallenge: string }>> {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const started = await this.servers[i % 2]!.startLogin(userId);
        if (!started.ok || !started.mfaRequired || !started.webauthn) throw new Error(`startLogin: ${JSON.stringify(started)}`);
        expect(started.methods[0]).toBe('webauthn');
        return { challenge: started.challenge, webauthnChallenge: started.webauthn.challenge };
      }),
    );
  }

  /** An assertion by `key` for a WebAuthn challenge, with the signature counter `counter`. */
  assertion(key: SoftAuthenticator, webauthnChallenge: string, counter: number) {
    return key.assert({ challenge: webauthnChallenge, origin: WEBAUTHN_ORIGIN, rpId: WEBAUTHN_RP.rpId, counter });
  }

  /** One verifyLogin per item, all at once, on the two servers in turn. */
  race(work: Work): Promise<VerifyLoginResult[]> {
    return Promise.all(work.map(({ challenge, proof }, i) => this.servers[i % 2]!.verifyLogin(challenge, proof)));
  }

  async record(userId: string) {
    return (await this.engine.stores(1).users.get(userId))?.record as MfaRecord | undefined;
  }

  async factor(userId: string, factorId: string): Promise<WebAuthnFactorRecord> {
    const factor = (await this.record(userId))?.factors.find((f) => f.id === factorId);
    expect(factor?.kind).toBe('webauthn');
    return factor as WebAuthnFactorRecord;
  }
}

/**
 * {@link RACERS} verifyLogin of ONE valid assertion on ONE challenge, on two
 * services at once: exactly one success; every other call finds the challenge
 * spent (`challenge_invalid`, not counted as a failure). The stored counter
 * is the accepted one.
 */
export async function oneWebAuthnAssertionOnTwoServices(engine: InProcessEngine) {
  const bed = new TwoWebAuthnServers(engine);
  const key = new SoftAuthenticator('ES256');
  const { userId, factorId } = await bed.register(key, 1);
  const { challenge, webauthnChallenge } = (await bed.challenges(userId, 1))[0]!;
  const proof = { webauthn: bed.assertion(key, webauthnChallenge, 5) };
  const results = await bed.race(Array.from({ length: RACERS }, () => ({ challenge, proof })));
  const counts = tally(results);
  expect(counts, JSON.stringify(counts)).toEqual({ ok: 1, challenge_invalid: RACERS - 1 });
  expect(results.find((r) => r.ok)).toEqual({ ok: true, userId, method: 'webauthn', factorId, recoveryCodesRemaining: 10 });
  expect(await bed.factor(userId, factorId)).toMatchObject({ signCount: 5, lastUsedAt: bed.now });
  expect(await bed.record(userId)).toMatchObject({ failures: 0, failuresSinceSuccess: 0, lockedUntil: null, lastMfaAt: bed.now });
  expect(bed.events.filter((e) => e.type === 'login.succeeded')).toHaveLength(1);
  expect(bed.events.filter((e) => e.type === 'login.failed' || e.type === 'webauthn.counter_regressed')).toEqual([]);
  return { bed, userId, factorId, key };
}

/**
 * A cloned key: {@link RACERS} verifyLogin, each on its own challenge with its
 * own valid assertion, all carrying the SAME counter value, on two services
 * at once. Exactly one is accepted; each other one then finds the counter
 * not increased and is refused as `invalid_credential` (counted, reported as
 * `webauthn.counter_regressed`), or finds the account locked. The stored
 * counter is the accepted one.
 */
export async function clonedKeySameCounterOnTwoServices(engine: InProcessEngine, lockout?: { maxFailures: number; hardLimit: number }) {
  const bed = new TwoWebAuthnServers(engine, lockout);
  const key = new SoftAuthenticator('ES256');
  const { userId, factorId } = await bed.register(key, 1);
  const counter = 7;
  const work = (await bed.challenges(userId, RACERS)).map(({ challenge, webauthnChallenge }) => ({
    challenge,
    proof: { webauthn: bed.assertion(key, webauthnChallenge, counter) },
  }));
  const results = await bed.race(work);
  const counts = tally(results);
  const maxFailures = lockout?.maxFailures ?? 5;
  const refused = Math.min(RACERS - 1, maxFailures - 1);
  // The success comes first (every refusal needs the counter it wrote); then failures up to the lock, then the lock.
  expect(counts, JSON.stringify(counts)).toEqual(
    RACERS - 1 < maxFailures ? { ok: 1, invalid_credential: RACERS - 1 } : { ok: 1, invalid_credential: refused, locked: RACERS - 1 - refused },
  );
  expect(results.find((r) => r.ok)).toEqual({ ok: true, userId, method: 'webauthn', factorId, recoveryCodesRemaining: 10 });
  // Each counted refusal was written on top of all the others: every count was seen once.
  const attemptsLeft = results.map(attemptsLeftOf).filter((n) => n >= 0).sort((x, y) => x - y);
  expect(attemptsLeft).toEqual(Array.from({ length: refused }, (_, i) => maxFailures - refused + i));
  expect(await bed.factor(userId, factorId)).toMatchObject({ signCount: counter, lastUsedAt: bed.now });
  const regressed = bed.events.filter((e) => e.type === 'webauthn.counter_regressed');
  const failures = RACERS - 1 < maxFailures ? RACERS - 1 : maxFailures;
  expect(regressed).toHaveLength(failures);
  for (const event of regressed) expect(event).toMatchObject({ userId, factorId });
  expect(bed.events.filter((e) => e.type === 'login.succeeded')).toHaveLength(1);
  expect(bed.events.filter((e) => e.type === 'login.failed')).toHaveLength(failures);
  const record = await bed.record(userId);
  if (RACERS - 1 < maxFailures) {
    expect(record).toMatchObject({ failures, failuresSinceSuccess: failures, lockCount: 0, lockedUntil: null });
  } else {
    expect(record).toMatchObject({ failures: 0, failuresSinceSuccess: failures, lockCount: 1, lockedUntil: bed.now + 60 * SECOND, lockCause: 'failures' });
    expect(await bed.servers[0].status(userId)).toMatchObject({ state: 'locked', lockCause: 'failures' });
  }
  return { bed, userId, factorId, key };
}

// ---- Remembered devices: one live token raced on two app servers, then a copy of it ----

/** Parallel presentations of a rotated-away token after the grace, in {@link reusedDeviceTokenOnTwoServices}. */
export const DEVICE_REUSERS = 20;
/** The default `rememberDevice.reuseGraceMs`. */
const DEVICE_GRACE_MS = 60 * SECOND;

type StartLoginResult = Awaited<ReturnType<MfaService['startLogin']>>;

/** Two app servers (TOTP, no plugin) on one engine, a clock only the test moves, and every event of both. */
export class TwoDeviceServers {
  readonly secretKey = `hex:${randomBytes(32).toString('hex')}`;
  now = T0;
  readonly events: MfaEvent[] = [];
  readonly servers: [MfaService, MfaService];

  constructor(readonly engine: InProcessEngine) {
    this.servers = [this.service(0), this.service(1)];
  }

  service(connection: 0 | 1): MfaService {
    return new MfaService({
      issuer: 'Race',
      secretKey: this.secretKey,
      ...this.engine.stores(connection),
      now: () => this.now,
      onEvent: (event) => {
        this.events.push(event);
      },
    });
  }

  /** A user enrolled through the first server who then logged in with a code on the second, remembering the browser. */
  async rememberedUser(): Promise<{ userId: string; secret: string; device: { id: string; token: string; expiresAt: number } }> {
    const userId = `device-racer-${++userCounter}-${randomBytes(4).toString('hex')}`;
    const [a, b] = this.servers;
    const begun = ok(await a.beginEnrollment(userId, { accountName: 'racer@example.com' }));
    ok(await a.confirmEnrollment(userId, codeAt(begun.secret, this.now)));
    ok(await a.revealRecoveryCodes(userId));
    this.now += STEP;
    const started = await b.startLogin(userId);
    if (!started.ok || !started.mfaRequired) throw new Error(`startLogin: ${JSON.stringify(started)}`);
    const verified = ok(await b.verifyLogin(started.challenge, { totp: codeAt(begun.secret, this.now) }, { rememberDevice: { label: 'Racer' } }));
    expect(verified.device).toBeDefined();
    this.now += STEP;
    return { userId, secret: begun.secret, device: verified.device! };
  }

  /** `count` startLogin calls with one device token, all at once, on the two servers in turn. */
  race(userId: string, deviceToken: string, count: number): Promise<StartLoginResult[]> {
    return Promise.all(Array.from({ length: count }, (_, i) => this.servers[i % 2]!.startLogin(userId, { deviceToken })));
  }

  async record(userId: string) {
    return (await this.engine.stores(1).users.get(userId))?.record as MfaRecord | undefined;
  }

  eventsSince(from: number, type: MfaEvent['type']): MfaEvent[] {
    return this.events.slice(from).filter((e) => e.type === type);
  }
}

/** A normal login challenge, the shape startLogin gives without a token. */
function expectNormalChallenge(result: StartLoginResult): void {
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true, mfaRequired: true, challenge: expect.any(String), methods: ['totp', 'recovery_code'] });
  expect((result as { rememberedDevice?: unknown }).rememberedDevice).toBeUndefined();
}

/**
 * {@link RACERS} startLogin calls with the SAME live device token on two
 * services at once: exactly one skips the second factor, with a new token
 * (the rotation is its compare-and-set write); every other call finds the
 * token rotated away within the grace and gets a normal challenge, with no
 * alarm. The device stays remembered and the new token works afterwards.
 */
export async function oneDeviceTokenOnTwoServices(engine: InProcessEngine) {
  const bed = new TwoDeviceServers(engine);
  const { userId, secret, device } = await bed.rememberedUser();
  const from = bed.events.length;
  const results = await bed.race(userId, device.token, RACERS);
  const skipped = results.filter((r) => r.ok && !r.mfaRequired);
  expect(skipped, JSON.stringify(results.map((r) => (r.ok ? r.mfaRequired : r.reason)))).toHaveLength(1);
  const rotated = (skipped[0] as { rememberedDevice?: { id: string; token: string; expiresAt: number } }).rememberedDevice!;
  expect(rotated).toMatchObject({ id: device.id, expiresAt: device.expiresAt });
  expect(rotated.token).toEqual(expect.any(String));
  expect(rotated.token).not.toBe(device.token);
  const challenged = results.filter((r) => r !== skipped[0]);
  expect(challenged).toHaveLength(RACERS - 1);
  for (const result of challenged) expectNormalChallenge(result);
  expect(bed.eventsSince(from, 'login.succeeded')).toEqual([{ type: 'login.succeeded', userId, at: bed.now, method: 'remembered_device', deviceId: device.id }]);
  expect(bed.eventsSince(from, 'device.token_reused')).toEqual([]);
  expect(bed.eventsSince(from, 'device.forgotten')).toEqual([]);
  // Still remembered, once, with the winner's token.
  expect((await bed.servers[1].listDevices(userId)).map((d) => d.id)).toEqual([device.id]);
  expect((await bed.record(userId))!.devices).toHaveLength(1);
  // The losers' challenges are normal ones: the second factor completes a login.
  const challenge = (challenged[0] as { challenge: string }).challenge;
  expect(ok(await bed.servers[1].verifyLogin(challenge, { totp: codeAt(secret, bed.now) }))).toMatchObject({ userId, method: 'totp' });
  // The new token works afterwards (and rotates again).
  const next = await bed.servers[1].startLogin(userId, { deviceToken: rotated.token });
  expect(next).toMatchObject({ ok: true, mfaRequired: false, rememberedDevice: { id: device.id } });
  const latest = (next as { rememberedDevice: { token: string } }).rememberedDevice.token;
  return { bed, userId, device, rotated, latest };
}

/**
 * After {@link oneDeviceTokenOnTwoServices}, the raced (rotated-away) token
 * comes back later than the grace, {@link DEVICE_REUSERS} times at once on
 * the two services: a copied cookie. Every call gets a normal challenge; the
 * alarm (`device.token_reused`, `device.forgotten` cause `token_reused`) is
 * raised exactly once, and the device is gone: the latest token dies too.
 */
export async function reusedDeviceTokenOnTwoServices(engine: InProcessEngine) {
  const { bed, userId, device, latest } = await oneDeviceTokenOnTwoServices(engine);
  bed.now += DEVICE_GRACE_MS + 1;
  const from = bed.events.length;
  const results = await bed.race(userId, device.token, DEVICE_REUSERS);
  for (const result of results) expectNormalChallenge(result);
  expect(bed.eventsSince(from, 'device.token_reused')).toEqual([{ type: 'device.token_reused', userId, at: bed.now, deviceId: device.id }]);
  expect(bed.eventsSince(from, 'device.forgotten')).toEqual([{ type: 'device.forgotten', userId, at: bed.now, deviceId: device.id, cause: 'token_reused' }]);
  expect(bed.eventsSince(from, 'login.succeeded')).toEqual([]);
  expect(await bed.servers[0].listDevices(userId)).toEqual([]);
  expect((await bed.record(userId))!.devices).toEqual([]);
  expectNormalChallenge(await bed.servers[0].startLogin(userId, { deviceToken: latest }));
  expect(bed.eventsSince(from, 'device.token_reused')).toHaveLength(1);
  return { bed, userId, device };
}
