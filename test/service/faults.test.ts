/**
 * Store failures leave no partial state (DESIGN §2: store failures propagate
 * unchanged after leaving no partial state).
 *
 * Every operation first runs without faults to count its store calls; then,
 * for each call k and both timings (the store never acted / it acted and the
 * reply was lost), it runs again on a fresh, identically prepared user with a
 * fault at call k. Afterwards:
 * - the call rejected with the injected error unchanged, unless the fault hit
 *   follow-up store work after the record committed: then it resolves to its
 *   true result and a `TwofoldStoreWarning` is emitted instead;
 * - the user is entirely in the old state or entirely in the new one (the new
 *   one exactly when the record write happened), checked through `status()`
 *   and by trying the TOTP secret, the shown recovery codes and the lockout;
 * - the same call retried without faults gives the right answer for that state.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { generateTotp } from '../../src/index.ts';
import { MfaService } from '../../src/service/mfa-service.ts';
import type { Proof, StatusResult } from '../../src/service/results.ts';
import { FaultyStores, type FaultTiming } from './faulty-stores.ts';

const USER = 'ada';
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const PERIOD = 30 * SECOND;
/** When the operation under test runs: the start of a TOTP step, an hour after the prepared history began. */
const T0 = Date.UTC(2030, 0, 1, 12);
const CODE_COUNT = 3;
const MAX_FAILURES = 5;

/** One user's service over faulty memory stores, a hand clock, and what the user and host know. */
class World {
  now = T0 - HOUR;
  readonly stores = new FaultyStores();
  readonly mfa = new MfaService({
    issuer: 'Faults',
    secretKey: `hex:${'42'.repeat(32)}`,
    users: this.stores.users,
    recoveryCodes: this.stores.recoveryCodes,
    now: () => this.now,
    lockout: { maxFailures: MAX_FAILURES, baseMs: MINUTE },
    recovery: { codeCount: CODE_COUNT, emailDelayMs: MINUTE, emailTtlMs: HOUR },
  });

  /** The TOTP secret in the user's app. */
  secret = '';
  /** The recovery codes the user was shown. */
  codes: string[] = [];
  /** A login challenge the host holds. */
  challenge = '';
  /** The email-recovery token the host sent. */
  token = '';
  /** Whether the call under test rejected. */
  rejected = false;
  /** Whether the call under test wrote the user record (with or without telling the caller). */
  committed = false;
}

// ---- the user's moves and what they must see ----------------------------

function ok<T extends { ok: boolean }>(result: T): Extract<T, { ok: true }> {
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
  return result as Extract<T, { ok: true }>;
}

function totp(w: World): string {
  return generateTotp(w.secret, { now: w.now });
}

/** A code the window accepts for no step now. */
function wrongTotp(w: World): string {
  const valid = new Set([-1, 0, 1].map((d) => generateTotp(w.secret, { now: w.now + d * PERIOD })));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

async function challenge(w: World): Promise<string> {
  const started = await w.mfa.startLogin(USER);
  expect(started, JSON.stringify(started)).toMatchObject({ ok: true, mfaRequired: true });
  return (started as { challenge: string }).challenge;
}

async function login(w: World, proof: Proof) {
  return w.mfa.verifyLogin(await challenge(w), proof);
}

/** begin + confirm with the current code (+ reveal): sets the secret (and codes) the user holds. */
async function enroll(w: World, { reveal = true } = {}): Promise<void> {
  w.secret = ok(await w.mfa.beginEnrollment(USER, { accountName: 'ada@example.com' })).secret;
  ok(await w.mfa.confirmEnrollment(USER, totp(w)));
  w.codes = reveal ? ok(await w.mfa.revealRecoveryCodes(USER)).codes : [];
}

/** Soft, so a wrong status still lets the test show whether the codes and secret behave. */
async function expectStatus(w: World, expected: StatusResult): Promise<void> {
  expect.soft(await w.mfa.status(USER)).toEqual(expected);
}

function enabledStatus(extra: Partial<StatusResult> = {}): StatusResult {
  return {
    state: 'enabled',
    recoveryCodesRemaining: CODE_COUNT,
    recoveryCodesUnrevealed: false,
    methods: ['totp', 'recovery_code'],
    ...extra,
    attention: [
      ...(extra.recoveryCodesUnrevealed ? (['recovery_codes_unrevealed'] as const) : (extra.recoveryCodesRemaining ?? CODE_COUNT) <= 2 ? (['recovery_codes_low'] as const) : []),
      'single_factor',
    ],
  };
}

const REGISTERED: StatusResult = { state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] };

/** The app's code of the next step logs in (and resets the failure count). */
async function expectTotpWorks(w: World): Promise<void> {
  w.now += PERIOD;
  expect(await login(w, { totp: totp(w) })).toMatchObject({ ok: true, method: 'totp' });
}

/** Each code logs in exactly once, and they are all the store holds. */
async function expectCodesWork(w: World, codes: readonly string[]): Promise<void> {
  expect(codes).toHaveLength(CODE_COUNT);
  expect((await w.mfa.status(USER)).recoveryCodesRemaining).toBe(codes.length);
  for (const [i, code] of codes.entries()) {
    expect(await login(w, { recoveryCode: code })).toMatchObject({ ok: true, method: 'recovery_code', recoveryCodesRemaining: codes.length - i - 1 });
  }
  expect(await login(w, { recoveryCode: codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  await expectTotpWorks(w);
}

/** None of the codes logs in. */
async function expectCodesDead(w: World, codes: readonly string[]): Promise<void> {
  expect(codes.length).toBeLessThan(MAX_FAILURES);
  for (const code of codes) expect(await login(w, { recoveryCode: code })).toMatchObject({ ok: false, reason: 'invalid_code' });
  await expectTotpWorks(w);
}

/** A wrong code (on a fresh challenge) gets exactly this answer. */
async function expectWrongCode(w: World, expected: object): Promise<void> {
  expect(await login(w, { totp: wrongTotp(w) })).toEqual(expected);
}

/** Back to `registered`: no MFA at login, and after enrolling again only the new secret and codes work. */
async function expectReenrollment(w: World): Promise<void> {
  await expectStatus(w, REGISTERED);
  expect(await w.mfa.startLogin(USER)).toEqual({ ok: true, mfaRequired: false });
  const old = { secret: w.secret, codes: w.codes };
  await enroll(w);
  const oldCode = generateTotp(old.secret, { now: w.now + PERIOD });
  if (![-1, 0, 1].some((d) => generateTotp(w.secret, { now: w.now + PERIOD + d * PERIOD }) === oldCode)) {
    w.now += PERIOD;
    expect(await login(w, { totp: oldCode })).toMatchObject({ ok: false, reason: 'invalid_code' });
  }
  await expectCodesDead(w, old.codes);
  await expectCodesWork(w, w.codes);
}

// ---- the operations --------------------------------------------------------

interface Operation {
  name: string;
  /** Bring a fresh user to the starting state (the clock is then set to T0). */
  prepare(w: World): Promise<void>;
  /** The operation under test; also what a retry runs. Records what the user is shown. */
  run(w: World): Promise<unknown>;
  /** Its result without faults. */
  expected: object;
  /** Its result when retried after the first call wrote the record. */
  retried: object;
  /** The user is entirely in the state before the call. */
  checkOld(w: World): Promise<void>;
  /** The user is entirely in the state after the call. */
  checkNew(w: World): Promise<void>;
}

/** Enrolled, codes revealed, an hour before T0. */
async function enrolled(w: World): Promise<void> {
  await enroll(w);
}

/** Enrolled, and a login challenge issued at T0. */
async function loggingIn(w: World): Promise<void> {
  await enroll(w);
  w.now = T0;
  w.challenge = await challenge(w);
}

/** Enrolled, and an email recovery requested five minutes before T0 (usable since four). */
async function recovering(w: World): Promise<void> {
  await enroll(w);
  w.now = T0 - 5 * MINUTE;
  w.token = ok(await w.mfa.requestEmailRecovery(USER)).token;
}

const PENDING_RECOVERY = { requestedAt: T0 - 5 * MINUTE, notBefore: T0 - 4 * MINUTE, expiresAt: T0 + 55 * MINUTE };

const operations: Operation[] = [
  {
    name: 'beginEnrollment',
    prepare: async () => {},
    run: async (w) => {
      const result = await w.mfa.beginEnrollment(USER, { accountName: 'ada@example.com' });
      if (result.ok) w.secret = result.secret;
      return result;
    },
    expected: { ok: true, expiresAt: T0 + 10 * MINUTE },
    retried: { ok: true, expiresAt: T0 + 10 * MINUTE },
    checkOld: async (w) => {
      await expectStatus(w, REGISTERED);
      expect(await w.mfa.confirmEnrollment(USER, '123456')).toEqual({ ok: false, reason: 'not_enrolling' });
    },
    checkNew: async (w) => {
      await expectStatus(w, { state: 'enrolling', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, enrollmentExpiresAt: T0 + 10 * MINUTE, methods: [], attention: [] });
      expect(await w.mfa.startLogin(USER)).toEqual({ ok: true, mfaRequired: false });
      // A secret the user never saw is simply replaced by the next attempt.
      if (w.secret === '') ok(await operations[0]!.run(w) as { ok: boolean });
      ok(await w.mfa.confirmEnrollment(USER, totp(w)));
    },
  },
  {
    name: 'confirmEnrollment',
    prepare: async (w) => {
      w.now = T0 - MINUTE;
      w.secret = ok(await w.mfa.beginEnrollment(USER, { accountName: 'ada@example.com' })).secret;
    },
    run: (w) => w.mfa.confirmEnrollment(USER, totp(w)),
    expected: { ok: true },
    retried: { ok: false, reason: 'already_enabled' },
    checkOld: async (w) => {
      await expectStatus(w, { state: 'enrolling', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, enrollmentExpiresAt: T0 + 9 * MINUTE, methods: [], attention: [] });
      expect(await w.mfa.startLogin(USER)).toEqual({ ok: true, mfaRequired: false });
      expect(await w.mfa.revealRecoveryCodes(USER)).toEqual({ ok: false, reason: 'not_enrolled' });
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus({ recoveryCodesUnrevealed: true }));
      expect(await login(w, { totp: totp(w) })).toMatchObject({ ok: false, reason: 'replayed' });
      // Reveal writes the set to the store before showing it (repairs a failed replace).
      w.codes = ok(await w.mfa.revealRecoveryCodes(USER)).codes;
      await expectCodesWork(w, w.codes);
    },
  },
  {
    name: 'revealRecoveryCodes',
    prepare: (w) => enroll(w, { reveal: false }),
    run: async (w) => {
      const result = await w.mfa.revealRecoveryCodes(USER);
      if (result.ok) w.codes = result.codes;
      return result;
    },
    expected: { ok: true },
    retried: { ok: false, reason: 'already_revealed' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus({ recoveryCodesUnrevealed: true }));
      w.codes = ok(await w.mfa.revealRecoveryCodes(USER)).codes;
      await expectCodesWork(w, w.codes);
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await w.mfa.revealRecoveryCodes(USER)).toEqual({ ok: false, reason: 'already_revealed' });
      if (w.codes.length === 0) {
        // Reveal-once: a reply lost after the commit leaves codes nobody saw; a new set is the way out.
        w.now += PERIOD;
        ok(await w.mfa.regenerateRecoveryCodes(USER, { totp: totp(w) }));
        w.codes = ok(await w.mfa.revealRecoveryCodes(USER)).codes;
      }
      await expectCodesWork(w, w.codes);
    },
  },
  {
    name: 'regenerateRecoveryCodes (TOTP)',
    prepare: enrolled,
    run: (w) => w.mfa.regenerateRecoveryCodes(USER, { totp: totp(w) }),
    expected: { ok: true, method: 'totp' },
    retried: { ok: false, reason: 'replayed' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await login(w, { totp: totp(w) })).toMatchObject({ ok: true, method: 'totp' });
      await expectCodesWork(w, w.codes);
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus({ recoveryCodesUnrevealed: true }));
      expect(await login(w, { totp: totp(w) })).toMatchObject({ ok: false, reason: 'replayed' });
      await expectCodesDead(w, w.codes);
      w.codes = ok(await w.mfa.revealRecoveryCodes(USER)).codes;
      await expectCodesWork(w, w.codes);
    },
  },
  {
    name: 'regenerateRecoveryCodes (recovery code)',
    prepare: enrolled,
    run: (w) => w.mfa.regenerateRecoveryCodes(USER, { recoveryCode: w.codes[0]! }),
    expected: { ok: true, method: 'recovery_code' },
    retried: { ok: false, reason: 'invalid_code' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      await expectCodesWork(w, w.codes);
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus({ recoveryCodesUnrevealed: true }));
      await expectCodesDead(w, w.codes);
      w.codes = ok(await w.mfa.revealRecoveryCodes(USER)).codes;
      await expectCodesWork(w, w.codes);
    },
  },
  {
    name: 'startLogin',
    prepare: enrolled,
    run: (w) => w.mfa.startLogin(USER),
    expected: { ok: true, mfaRequired: true },
    retried: { ok: true, mfaRequired: true },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      await expectTotpWorks(w);
    },
    checkNew: async () => expect.unreachable('startLogin only reads: there is no new state'),
  },
  {
    name: 'verifyLogin (TOTP)',
    prepare: loggingIn,
    run: (w) => w.mfa.verifyLogin(w.challenge, { totp: totp(w) }),
    expected: { ok: true, userId: USER, method: 'totp', recoveryCodesRemaining: CODE_COUNT },
    retried: { ok: false, reason: 'challenge_invalid' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await w.mfa.verifyLogin(w.challenge, { totp: totp(w) })).toMatchObject({ ok: true, method: 'totp' });
      await expectCodesWork(w, w.codes);
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await login(w, { totp: totp(w) })).toMatchObject({ ok: false, reason: 'replayed' });
      w.now += PERIOD;
      expect(await w.mfa.verifyLogin(w.challenge, { totp: totp(w) })).toEqual({ ok: false, reason: 'challenge_invalid' });
      await expectCodesWork(w, w.codes);
    },
  },
  {
    name: 'verifyLogin (recovery code)',
    prepare: loggingIn,
    run: (w) => w.mfa.verifyLogin(w.challenge, { recoveryCode: w.codes[0]! }),
    expected: { ok: true, userId: USER, method: 'recovery_code', recoveryCodesRemaining: CODE_COUNT - 1 },
    retried: { ok: false, reason: 'challenge_invalid' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      await expectCodesWork(w, w.codes);
    },
    checkNew: async (w) => {
      expect(await w.mfa.verifyLogin(w.challenge, { totp: totp(w) })).toEqual({ ok: false, reason: 'challenge_invalid' });
      if (w.rejected) {
        // The host saw an error and created no session: the code must still work.
        await expectStatus(w, enabledStatus());
        await expectCodesWork(w, w.codes);
      } else {
        await expectStatus(w, enabledStatus({ recoveryCodesRemaining: CODE_COUNT - 1 }));
        await expectCodesDead(w, w.codes.slice(0, 1));
        for (const code of w.codes.slice(1)) expect(await login(w, { recoveryCode: code })).toMatchObject({ ok: true });
      }
    },
  },
  {
    name: 'verifyLogin (wrong code)',
    prepare: loggingIn,
    run: (w) => w.mfa.verifyLogin(w.challenge, { totp: wrongTotp(w) }),
    expected: { ok: false, reason: 'invalid_code', attemptsLeft: MAX_FAILURES - 1 },
    retried: { ok: false, reason: 'invalid_code', attemptsLeft: MAX_FAILURES - 2 },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      await expectWrongCode(w, { ok: false, reason: 'invalid_code', attemptsLeft: MAX_FAILURES - 1 });
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus());
      await expectWrongCode(w, { ok: false, reason: 'invalid_code', attemptsLeft: MAX_FAILURES - 2 });
      await expectTotpWorks(w);
      await expectWrongCode(w, { ok: false, reason: 'invalid_code', attemptsLeft: MAX_FAILURES - 1 });
    },
  },
  {
    name: 'verifyLogin (wrong code that locks)',
    prepare: async (w) => {
      await enroll(w);
      w.now = T0;
      for (let left = MAX_FAILURES - 1; left > 0; left--) {
        await expectWrongCode(w, { ok: false, reason: 'invalid_code', attemptsLeft: left });
      }
      w.challenge = await challenge(w);
    },
    run: (w) => w.mfa.verifyLogin(w.challenge, { totp: wrongTotp(w) }),
    expected: { ok: false, reason: 'locked', retryAt: T0 + MINUTE },
    retried: { ok: false, reason: 'locked', retryAt: T0 + MINUTE },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await w.mfa.verifyLogin(w.challenge, { totp: totp(w) })).toMatchObject({ ok: true, method: 'totp' });
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus({ state: 'locked', lockedUntil: T0 + MINUTE, lockCause: 'failures' }));
      expect(await w.mfa.startLogin(USER)).toEqual({ ok: false, reason: 'locked', retryAt: T0 + MINUTE, mfaRequired: true });
      // While locked, even the right code is not evaluated.
      expect(await w.mfa.verifyLogin(w.challenge, { totp: totp(w) })).toEqual({ ok: false, reason: 'locked', retryAt: T0 + MINUTE });
      // The lock reset the count and raised the backoff in the same write.
      w.now = T0 + MINUTE;
      for (let left = MAX_FAILURES - 1; left > 0; left--) {
        await expectWrongCode(w, { ok: false, reason: 'invalid_code', attemptsLeft: left });
      }
      await expectWrongCode(w, { ok: false, reason: 'locked', retryAt: w.now + 2 * MINUTE });
    },
  },
  {
    name: 'disable (TOTP)',
    prepare: loggingIn,
    run: (w) => w.mfa.disable(USER, { totp: totp(w) }),
    expected: { ok: true, method: 'totp' },
    retried: { ok: false, reason: 'not_enrolled' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await w.mfa.verifyLogin(w.challenge, { totp: totp(w) })).toMatchObject({ ok: true, method: 'totp' });
      await expectCodesWork(w, w.codes);
    },
    checkNew: async (w) => {
      expect(await w.mfa.verifyLogin(w.challenge, { totp: totp(w) })).toEqual({ ok: false, reason: 'challenge_invalid' });
      await expectReenrollment(w);
    },
  },
  {
    name: 'disable (recovery code)',
    prepare: loggingIn,
    run: (w) => w.mfa.disable(USER, { recoveryCode: w.codes[0]! }),
    expected: { ok: true, method: 'recovery_code' },
    retried: { ok: false, reason: 'not_enrolled' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      await expectCodesWork(w, w.codes);
    },
    checkNew: async (w) => {
      expect(await w.mfa.verifyLogin(w.challenge, { totp: totp(w) })).toEqual({ ok: false, reason: 'challenge_invalid' });
      await expectReenrollment(w);
    },
  },
  {
    name: 'requestEmailRecovery',
    prepare: enrolled,
    run: async (w) => {
      const result = await w.mfa.requestEmailRecovery(USER);
      if (result.ok) w.token = result.token;
      return result;
    },
    expected: { ok: true, notBefore: T0 + MINUTE, expiresAt: T0 + HOUR },
    retried: { ok: true, notBefore: T0 + MINUTE, expiresAt: T0 + HOUR },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await w.mfa.cancelEmailRecovery(USER)).toEqual({ ok: false, reason: 'not_requested' });
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus({ pendingEmailRecovery: { requestedAt: T0, notBefore: T0 + MINUTE, expiresAt: T0 + HOUR } }));
      if (w.token === '') {
        // A token that was never sent: the owner's next login cancels it.
        await expectTotpWorks(w);
        await expectStatus(w, enabledStatus());
      } else {
        w.now = T0 + MINUTE;
        ok(await w.mfa.completeEmailRecovery(USER, w.token));
        await expectReenrollment(w);
      }
    },
  },
  {
    name: 'completeEmailRecovery',
    prepare: recovering,
    run: (w) => w.mfa.completeEmailRecovery(USER, w.token),
    expected: { ok: true },
    retried: { ok: false, reason: 'not_requested' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus({ pendingEmailRecovery: PENDING_RECOVERY }));
      await expectCodesWork(w, w.codes);
      expect(await w.mfa.completeEmailRecovery(USER, w.token)).toEqual({ ok: false, reason: 'cancelled' });
    },
    checkNew: expectReenrollment,
  },
  {
    name: 'cancelEmailRecovery',
    prepare: recovering,
    run: (w) => w.mfa.cancelEmailRecovery(USER),
    expected: { ok: true },
    retried: { ok: false, reason: 'not_requested' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus({ pendingEmailRecovery: PENDING_RECOVERY }));
      ok(await w.mfa.completeEmailRecovery(USER, w.token));
      await expectReenrollment(w);
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await w.mfa.completeEmailRecovery(USER, w.token)).toEqual({ ok: false, reason: 'cancelled' });
      await expectCodesWork(w, w.codes);
    },
  },
  {
    name: 'lock',
    prepare: enrolled,
    run: (w) => w.mfa.lock(USER, { reason: 'support ticket' }),
    expected: { ok: true },
    retried: { ok: true },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus());
      expect(await w.mfa.unlock(USER)).toEqual({ ok: false, reason: 'not_locked' });
      await expectTotpWorks(w);
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus({ state: 'locked', lockedUntil: null, lockCause: 'manual' }));
      expect(await w.mfa.startLogin(USER)).toEqual({ ok: false, reason: 'locked', retryAt: null, mfaRequired: true });
      ok(await w.mfa.unlock(USER));
      await expectTotpWorks(w);
    },
  },
  {
    name: 'unlock',
    prepare: async (w) => {
      await enroll(w);
      w.now = T0 - 10 * SECOND;
      for (let left = MAX_FAILURES - 1; left > 0; left--) {
        await expectWrongCode(w, { ok: false, reason: 'invalid_code', attemptsLeft: left });
      }
      await expectWrongCode(w, { ok: false, reason: 'locked', retryAt: T0 + 50 * SECOND });
    },
    run: (w) => w.mfa.unlock(USER),
    expected: { ok: true },
    retried: { ok: false, reason: 'not_locked' },
    checkOld: async (w) => {
      await expectStatus(w, enabledStatus({ state: 'locked', lockedUntil: T0 + 50 * SECOND, lockCause: 'failures' }));
      expect(await w.mfa.startLogin(USER)).toEqual({ ok: false, reason: 'locked', retryAt: T0 + 50 * SECOND, mfaRequired: true });
    },
    checkNew: async (w) => {
      await expectStatus(w, enabledStatus());
      // Counters and backoff were reset in the same write: the next lock is the first again.
      for (let left = MAX_FAILURES - 1; left > 0; left--) {
        await expectWrongCode(w, { ok: false, reason: 'invalid_code', attemptsLeft: left });
      }
      await expectWrongCode(w, { ok: false, reason: 'locked', retryAt: w.now + MINUTE });
    },
  },
];

// ---- the harness -----------------------------------------------------------

async function prepared(op: Operation): Promise<World> {
  const w = new World();
  await op.prepare(w);
  w.now = T0;
  return w;
}

/** The store calls `op` makes without faults, in order. */
async function storeCalls(op: Operation): Promise<string[]> {
  const w = await prepared(op);
  w.stores.count();
  await op.run(w);
  return w.stores.calls.map((call) => call.name);
}

let warnings: MockInstance<typeof process.emitWarning>;

beforeEach(() => {
  warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
});

afterEach(() => {
  vi.restoreAllMocks();
});

function storeWarnings(): number {
  return warnings.mock.calls.filter(([, options]) => (options as { type?: string } | undefined)?.type === 'TwofoldStoreWarning').length;
}

/** A prepared user after `op` ran with a fault at store call `at`; checks how the call ended. */
async function faulted(op: Operation, at: number, timing: FaultTiming): Promise<World> {
  const w = await prepared(op);
  w.stores.arm(at, timing);
  warnings.mockClear();
  let result: unknown;
  let error: unknown;
  try {
    result = await op.run(w);
  } catch (caught) {
    error = caught;
    w.rejected = true;
  }
  const calls = w.stores.calls.slice();
  expect(calls[at - 1]?.faulted).toBe(true);
  w.committed = w.stores.committed;
  if (calls.slice(0, at - 1).some((call) => call.committed)) {
    // Follow-up store work after the commit: reported, and the true result returned.
    expect(error).toBeUndefined();
    expect(result).toMatchObject(op.expected);
    expect(storeWarnings()).toBe(1);
  } else {
    expect(error).toBe(w.stores.injected);
    expect(storeWarnings()).toBe(0);
  }
  return w;
}

interface Case {
  title: string;
  op: Operation;
  at: number;
  timing: FaultTiming;
  /**
   * The store spent the code but its reply was lost: the service cannot know
   * whether the code was spent, so it fails closed and treats it as spent
   * (never usable twice). The user loses that one code; nothing else changes.
   */
  failClosed: boolean;
}

/** After a lost `consume` reply: the old state, except that the presented code (codes[0]) is spent. */
async function checkFailedClosed(w: World): Promise<void> {
  await expectStatus(w, enabledStatus({ recoveryCodesRemaining: CODE_COUNT - 1 }));
  await expectCodesDead(w, w.codes.slice(0, 1));
  for (const code of w.codes.slice(1)) expect(await login(w, { recoveryCode: code })).toMatchObject({ ok: true });
}

const cases: Case[] = [];
for (const op of operations) {
  const calls = await storeCalls(op);
  for (const [i, call] of calls.entries()) {
    for (const timing of ['before', 'after'] as const) {
      const failClosed = timing === 'after' && call === 'recoveryCodes.consume';
      cases.push({ title: `${op.name}: fault ${timing} call ${i + 1}/${calls.length} (${call})${failClosed ? ', fails closed' : ''}`, op, at: i + 1, timing, failClosed });
    }
  }
}

describe('without faults (the checks themselves)', () => {
  it.each(operations.map((op) => [op.name, op] as const))('%s: the prepared user is in the old state', async (_, op) => {
    await op.checkOld(await prepared(op));
  });

  it.each(operations.map((op) => [op.name, op] as const))('%s: resolves to its result, leaves the new state, and a retry answers for it', async (_, op) => {
    const w = await prepared(op);
    w.stores.count();
    expect(await op.run(w)).toMatchObject(op.expected);
    w.committed = w.stores.committed;
    if (w.committed) await op.checkNew(w);
    else await op.checkOld(w);

    const again = await prepared(op);
    again.stores.count();
    await op.run(again);
    const wrote = again.stores.committed;
    expect(await op.run(again)).toMatchObject(wrote ? op.retried : op.expected);
  });
});

describe('a store fault leaves the old state or the new one, never a mix', () => {
  it.each(cases.map((c) => [c.title, c] as const))('%s', async (_, { op, at, timing, failClosed }) => {
    const w = await faulted(op, at, timing);
    if (failClosed) await checkFailedClosed(w);
    else if (w.committed) await op.checkNew(w);
    else await op.checkOld(w);

    const retry = await faulted(op, at, timing);
    const expected = failClosed ? { ok: false, reason: 'invalid_code' } : retry.committed ? op.retried : op.expected;
    expect(await op.run(retry)).toMatchObject(expected);
  });
});
