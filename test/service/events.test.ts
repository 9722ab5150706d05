/**
 * Events (DESIGN.md §3): each of the 13 types at the right moment, with
 * `type`, `userId`, `at` and non-secret details only; emitted after the
 * change is stored; a failing handler never breaks or undoes the operation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MfaEvent, MfaEventType } from '../../src/service/events.ts';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { StatusResult } from '../../src/service/results.ts';
import type { MfaRecord } from '../../src/stores/index.ts';
import { codeAt, Harness, MINUTE, ok, SECOND, wrongCodeAt } from './fixtures.ts';

const ALL_TYPES: MfaEventType[] = [
  'enrollment.started',
  'mfa.enabled',
  'login.succeeded',
  'login.failed',
  'recovery_code.used',
  'recovery_codes.regenerated',
  'recovery_codes.revealed',
  'mfa.disabled',
  'account.locked',
  'account.unlocked',
  'email_recovery.requested',
  'email_recovery.cancelled',
  'email_recovery.completed',
  'factor.added',
];

describe('each event type at the right moment, with type, userId, at and non-secret details', () => {
  it('enrollment.started, mfa.enabled, recovery_codes.revealed', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    expect(h.events).toEqual([{ type: 'enrollment.started', userId: 'alice', at: h.now, expiresAt: begun.expiresAt }]);
    expect(await h.mfa.confirmEnrollment('alice', wrongCodeAt(begun.secret, h.now))).toMatchObject({ ok: false });
    expect(h.events).toHaveLength(1);
    h.clock.advance(SECOND);
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    const [factor] = await h.mfa.listFactors('alice');
    expect(h.events.slice(1)).toEqual([
      { type: 'mfa.enabled', userId: 'alice', at: h.now },
      { type: 'factor.added', userId: 'alice', at: h.now, factorId: factor!.id, kind: 'totp' },
    ]);
    h.clock.advance(SECOND);
    ok(await h.mfa.revealRecoveryCodes('alice'));
    expect(h.events.slice(3)).toEqual([{ type: 'recovery_codes.revealed', userId: 'alice', at: h.now }]);
    await h.mfa.revealRecoveryCodes('alice'); // already_revealed: no event
    expect(h.events).toHaveLength(4);
  });

  it('login.succeeded (totp and recovery code) and recovery_code.used', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    let mark = h.events.length;
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    const [factor] = await h.mfa.listFactors('alice');
    expect(h.events.slice(mark)).toEqual([
      { type: 'login.succeeded', userId: 'alice', at: h.now, method: 'totp', factorId: factor!.id, recoveryCodesRemaining: 10 },
    ]);
    mark = h.events.length;
    ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    expect(h.events.slice(mark)).toEqual([
      { type: 'login.succeeded', userId: 'alice', at: h.now, method: 'recovery_code', recoveryCodesRemaining: 9 },
      { type: 'recovery_code.used', userId: 'alice', at: h.now, context: 'login', recoveryCodesRemaining: 9 },
    ]);
  });

  it('login.failed in every context (login, disable, regenerate), for invalid and replayed codes', async () => {
    const h = new Harness({ lockout: { maxFailures: 10, hardLimit: 10 } });
    const u = await h.enroll('alice');
    h.clock.advance(5 * 30 * SECOND);
    const earlier = codeAt(u.secret, h.now);
    const code = codeAt(u.secret, h.now + 30 * SECOND);
    ok(await h.login('alice', { totp: code }));
    const mark = h.events.length;
    await h.login('alice', { totp: h.wrongCode(u.secret) });
    // A double submit of the step just accepted is not a failure and emits nothing; an earlier step is.
    await h.login('alice', { totp: code });
    await h.login('alice', { totp: earlier });
    await h.login('alice', { recoveryCode: '0000-0000-0000-0000-0000-0000' });
    await h.mfa.disable('alice', { totp: h.wrongCode(u.secret) });
    await h.mfa.regenerateRecoveryCodes('alice', { recoveryCode: '0000-0000-0000-0000-0000-0000' });
    const at = h.now;
    expect(h.events.slice(mark)).toEqual([
      { type: 'login.failed', userId: 'alice', at, method: 'totp', reason: 'invalid_code', context: 'login', attemptsLeft: 9 },
      { type: 'login.failed', userId: 'alice', at, method: 'totp', reason: 'replayed', context: 'login', attemptsLeft: 8 },
      { type: 'login.failed', userId: 'alice', at, method: 'recovery_code', reason: 'invalid_code', context: 'login', attemptsLeft: 7 },
      { type: 'login.failed', userId: 'alice', at, method: 'totp', reason: 'invalid_code', context: 'disable', attemptsLeft: 6 },
      { type: 'login.failed', userId: 'alice', at, method: 'recovery_code', reason: 'invalid_code', context: 'regenerate', attemptsLeft: 5 },
    ]);
  });

  it('no event for what changes nothing: status, startLogin, malformed proofs, forged or expired challenges', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const mark = h.events.length;
    await h.mfa.status('alice');
    const challenge = await h.challenge('alice');
    await h.mfa.verifyLogin(challenge, { totp: 'nope' });
    await h.mfa.verifyLogin(`${challenge}x`, { totp: h.freshCode(u.secret) });
    h.clock.advance(10 * MINUTE);
    await h.mfa.verifyLogin(challenge, { totp: codeAt(u.secret, h.now) });
    await h.mfa.disable('alice', {} as never);
    await h.mfa.unlock('alice');
    await h.mfa.cancelEmailRecovery('alice');
    await h.mfa.startLogin('bob');
    expect(h.events.slice(mark)).toEqual([]);
  });

  it('recovery_codes.regenerated (and recovery_code.used with context regenerate)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    let mark = h.events.length;
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) }));
    expect(h.events.slice(mark)).toEqual([{ type: 'recovery_codes.regenerated', userId: 'alice', at: h.now, count: 10 }]);
    const fresh = ok(await h.mfa.revealRecoveryCodes('alice')).codes;
    mark = h.events.length;
    ok(await h.mfa.regenerateRecoveryCodes('alice', { recoveryCode: fresh[0]! }));
    expect(h.events.slice(mark)).toEqual([
      { type: 'recovery_code.used', userId: 'alice', at: h.now, context: 'regenerate', recoveryCodesRemaining: 10 },
      { type: 'recovery_codes.regenerated', userId: 'alice', at: h.now, count: 10 },
    ]);
  });

  it('mfa.disabled (with recovery_code.used, context disable)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const mark = h.events.length;
    ok(await h.mfa.disable('alice', { recoveryCode: u.codes[0]! }));
    expect(h.events.slice(mark)).toEqual([
      { type: 'recovery_code.used', userId: 'alice', at: h.now, context: 'disable', recoveryCodesRemaining: 0 },
      { type: 'mfa.disabled', userId: 'alice', at: h.now, method: 'recovery_code' },
    ]);
    const again = await h.enroll('alice');
    ok(await h.mfa.disable('alice', { totp: h.freshCode(again.secret) }));
    expect(h.events.at(-1)).toEqual({ type: 'mfa.disabled', userId: 'alice', at: h.now, method: 'totp' });
  });

  it('account.locked (failures, failure_limit, manual) and account.unlocked (manual)', async () => {
    const h = new Harness({ lockout: { maxFailures: 2, hardLimit: 4 } });
    const u = await h.enroll('alice');
    // A lock kills the challenge it was failed on: each attempt starts a login of its own.
    const fail = async () => h.mfa.verifyLogin(await h.challenge('alice'), { totp: wrongCodeAt(u.secret, h.now) });
    await fail();
    let mark = h.events.length;
    await fail();
    expect(h.events.slice(mark)).toEqual([
      { type: 'login.failed', userId: 'alice', at: h.now, method: 'totp', reason: 'invalid_code', context: 'login', attemptsLeft: 0 },
      { type: 'account.locked', userId: 'alice', at: h.now, cause: 'failures', retryAt: h.now + MINUTE },
    ]);
    // Refused while locked: no event (the challenge, issued before, is dead too).
    mark = h.events.length;
    expect(await h.mfa.startLogin('alice')).toMatchObject({ ok: false, reason: 'locked' });
    expect(h.events.slice(mark)).toEqual([]);
    h.clock.advance(MINUTE);
    await fail();
    mark = h.events.length;
    await fail();
    expect(h.events.slice(mark)).toEqual([
      { type: 'login.failed', userId: 'alice', at: h.now, method: 'totp', reason: 'invalid_code', context: 'login', attemptsLeft: 0 },
      { type: 'account.locked', userId: 'alice', at: h.now, cause: 'failure_limit', retryAt: null },
    ]);
    mark = h.events.length;
    ok(await h.mfa.unlock('alice'));
    expect(h.events.slice(mark)).toEqual([{ type: 'account.unlocked', userId: 'alice', at: h.now, cause: 'manual' }]);
    mark = h.events.length;
    ok(await h.mfa.lock('alice', { reason: 'support ticket 42' }));
    ok(await h.mfa.lock('bob'));
    expect(h.events.slice(mark)).toEqual([
      { type: 'account.locked', userId: 'alice', at: h.now, cause: 'manual', reason: 'support ticket 42', retryAt: null },
      { type: 'account.locked', userId: 'bob', at: h.now, cause: 'manual', retryAt: null },
    ]);
  });

  it('email_recovery.requested, .cancelled (superseded, manual, mfa_login, account_locked) and .completed', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    let mark = h.events.length;
    const first = ok(await h.mfa.requestEmailRecovery('alice'));
    expect(h.events.slice(mark)).toEqual([{ type: 'email_recovery.requested', userId: 'alice', at: h.now, notBefore: first.notBefore, expiresAt: first.expiresAt }]);
    mark = h.events.length;
    const second = ok(await h.mfa.requestEmailRecovery('alice'));
    expect(h.events.slice(mark)).toEqual([
      { type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'superseded' },
      { type: 'email_recovery.requested', userId: 'alice', at: h.now, notBefore: second.notBefore, expiresAt: second.expiresAt },
    ]);
    mark = h.events.length;
    ok(await h.mfa.cancelEmailRecovery('alice'));
    expect(h.events.slice(mark)).toEqual([{ type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'manual' }]);
    ok(await h.mfa.requestEmailRecovery('alice'));
    mark = h.events.length;
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    expect(h.events.slice(mark)).toEqual([
      { type: 'login.succeeded', userId: 'alice', at: h.now, method: 'totp', factorId: (await h.mfa.listFactors('alice'))[0]!.id, recoveryCodesRemaining: 10 },
      { type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'mfa_login' },
    ]);
    const last = ok(await h.mfa.requestEmailRecovery('alice'));
    h.clock.set(last.notBefore);
    mark = h.events.length;
    ok(await h.mfa.completeEmailRecovery('alice', last.token));
    expect(h.events.slice(mark)).toEqual([{ type: 'email_recovery.completed', userId: 'alice', at: h.now }]);

    // A lock cancels a pending recovery, and says why.
    await h.enroll('alice');
    ok(await h.mfa.requestEmailRecovery('alice'));
    mark = h.events.length;
    ok(await h.mfa.lock('alice'));
    expect(h.events.slice(mark)).toEqual([
      { type: 'account.locked', userId: 'alice', at: h.now, cause: 'manual', retryAt: null },
      { type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'account_locked' },
    ]);
  });

  it('a whole TOTP flow emits all 14 of its types, each with type, userId and at (the service clock)', async () => {
    const h = new Harness({ lockout: { maxFailures: 2, hardLimit: 2 } });
    const u = await h.enroll('alice');
    ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) }));
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    ok(await h.mfa.cancelEmailRecovery('alice'));
    const challenge = await h.challenge('alice');
    await h.mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) });
    await h.mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) });
    ok(await h.mfa.unlock('alice'));
    const again = ok(await h.mfa.requestEmailRecovery('alice'));
    h.clock.set(again.notBefore);
    ok(await h.mfa.completeEmailRecovery('alice', again.token));
    const v = await h.enroll('alice');
    ok(await h.mfa.disable('alice', { totp: h.freshCode(v.secret) }));
    void r;

    expect(new Set(h.events.map((e) => e.type))).toEqual(new Set(ALL_TYPES));
    let previous = 0;
    for (const event of h.events) {
      expect(event.userId).toBe('alice');
      expect(typeof event.at).toBe('number');
      expect(event.at).toBeGreaterThanOrEqual(previous);
      previous = event.at;
      // Only numbers, short strings and null: nothing that could be a secret.
      for (const [key, value] of Object.entries(event)) {
        expect(['string', 'number'].includes(typeof value) || value === null, `${event.type}.${key}`).toBe(true);
        if (typeof value === 'string') expect(value.length, `${event.type}.${key}`).toBeLessThan(40);
      }
    }
  });
});

describe('events are emitted after the change is stored', () => {
  it('onEvent sees the new state through status() and the store', async () => {
    const seen: Array<{ event: MfaEvent; status: StatusResult; record: MfaRecord | null }> = [];
    let h!: Harness;
    let mfa!: MfaService;
    h = new Harness({
      onEvent: async (event) => {
        seen.push({ event, status: await mfa.status(event.userId), record: await h.record(event.userId) });
      },
    });
    mfa = h.mfa;
    const u = await h.enroll('alice');
    ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    const challenge = await h.challenge('alice');
    for (let i = 0; i < 5; i++) await mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) });
    ok(await mfa.unlock('alice'));
    ok(await mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) }));
    ok(await mfa.revealRecoveryCodes('alice'));
    const r = ok(await mfa.requestEmailRecovery('alice'));
    ok(await mfa.cancelEmailRecovery('alice'));
    const r2 = ok(await mfa.requestEmailRecovery('alice'));
    h.clock.set(r2.notBefore);
    ok(await mfa.completeEmailRecovery('alice', r2.token));
    const v = await h.enroll('alice');
    ok(await mfa.disable('alice', { totp: h.freshCode(v.secret) }));
    void r;

    const failures: number[] = [];
    for (const { event, status, record } of seen) {
      switch (event.type) {
        case 'enrollment.started':
          expect(status.state).toBe('enrolling');
          break;
        case 'mfa.enabled':
          expect(status).toMatchObject({ state: 'enabled', recoveryCodesUnrevealed: true });
          break;
        case 'recovery_codes.revealed':
          expect(status.recoveryCodesUnrevealed).toBe(false);
          break;
        case 'login.succeeded':
          expect(record!.failures).toBe(0);
          if (event.method !== 'remembered_device') expect(status.recoveryCodesRemaining).toBe(event.recoveryCodesRemaining);
          break;
        case 'recovery_code.used':
          expect(status.recoveryCodesRemaining).toBe(event.recoveryCodesRemaining);
          break;
        case 'login.failed':
          failures.push(record!.failures);
          break;
        case 'account.locked':
          expect(status).toMatchObject({ state: 'locked', lockedUntil: event.retryAt });
          break;
        case 'account.unlocked':
          expect(status.state).not.toBe('locked');
          break;
        case 'recovery_codes.regenerated':
          expect(status).toMatchObject({ recoveryCodesUnrevealed: true, recoveryCodesRemaining: event.count });
          break;
        case 'email_recovery.requested':
          expect(status.pendingEmailRecovery).toMatchObject({ notBefore: event.notBefore, expiresAt: event.expiresAt });
          break;
        case 'email_recovery.cancelled':
          expect(status.pendingEmailRecovery).toBeUndefined();
          break;
        case 'email_recovery.completed':
          expect(status.state).toBe('registered');
          break;
        case 'mfa.disabled':
          expect(status.state).toBe('registered');
          break;
      }
    }
    // The failures were stored before each login.failed (the 5th reset the count when it locked).
    expect(failures).toEqual([1, 2, 3, 4, 0]);
    expect(new Set(seen.map((s) => s.event.type))).toEqual(new Set(ALL_TYPES));
  });

  it('a handler may call back into the service (no deadlock)', async () => {
    let mfa!: MfaService;
    const h = new Harness({
      onEvent: async (event) => {
        if (event.type === 'login.failed' && event.attemptsLeft === 3) await mfa.lock(event.userId, { reason: 'policy' });
      },
    });
    mfa = h.mfa;
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    await mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) });
    expect(await mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) })).toMatchObject({ reason: 'invalid_code', attemptsLeft: 3 });
    expect(await mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: null });
  });
});

describe('a failing onEvent never breaks or undoes the operation', () => {
  const listeners: Array<(warning: Error) => void> = [];
  afterEach(() => {
    for (const listener of listeners.splice(0)) process.off('warning', listener);
  });

  /** Collect process warnings until the returned function is called (after a macrotask, since they are emitted on nextTick). */
  function collectWarnings(): () => Promise<Error[]> {
    const warnings: Error[] = [];
    const listener = (warning: Error) => {
      warnings.push(warning);
    };
    listeners.push(listener);
    process.on('warning', listener);
    return async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return warnings.filter((w) => w.name === 'TwofoldEventWarning');
    };
  }

  for (const kind of ['throwing', 'rejecting'] as const) {
    it(`a ${kind} onEvent: the result is ok, the change is kept, a TwofoldEventWarning is emitted without the error message`, async () => {
      const delivered: MfaEventType[] = [];
      let secretInMessage = 'none';
      const h = new Harness({
        onEvent: (event) => {
          delivered.push(event.type);
          const error = new Error(`handler failed for ${secretInMessage}`);
          if (kind === 'throwing') throw error;
          return Promise.reject(error);
        },
      });
      const done = collectWarnings();
      const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
      secretInMessage = begun.secret;
      ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
      expect((await h.mfa.status('alice')).state).toBe('enabled');
      const codes = ok(await h.mfa.revealRecoveryCodes('alice')).codes;
      secretInMessage = codes[0]!;
      ok(await h.mfa.requestEmailRecovery('alice'));
      // Three events from one operation: all delivered although each handler call fails.
      const result = ok(await h.login('alice', { recoveryCode: codes[0]! }));
      expect(result.recoveryCodesRemaining).toBe(9);
      expect(await h.codes.countUnused('alice')).toBe(9);
      expect((await h.mfa.status('alice')).pendingEmailRecovery).toBeUndefined();
      ok(await h.mfa.disable('alice', { totp: h.freshCode(begun.secret) }));
      expect((await h.mfa.status('alice')).state).toBe('registered');

      expect(delivered).toEqual([
        'enrollment.started',
        'mfa.enabled',
        'factor.added',
        'recovery_codes.revealed',
        'email_recovery.requested',
        'login.succeeded',
        'recovery_code.used',
        'email_recovery.cancelled',
        'mfa.disabled',
      ]);
      const warnings = await done();
      expect(warnings).toHaveLength(delivered.length);
      for (const warning of warnings) {
        expect(warning.message).not.toContain(begun.secret);
        expect(warning.message).not.toContain(codes[0]!);
        expect(warning.message).not.toContain('handler failed');
      }
      expect(warnings.map((w) => w.message).join('\n')).toContain('login.succeeded');
    });
  }

  it('a handler throwing a non-Error value is survived too', async () => {
    const h = new Harness({
      onEvent: () => {
        throw 'a string';
      },
    });
    const done = collectWarnings();
    const u = await h.enroll('alice');
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    expect((await done()).length).toBeGreaterThan(0);
  });

  it('a slow handler delays the result but not the commit', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let hold = false;
    const h = new Harness({
      onEvent: async () => {
        if (hold) await held;
      },
    });
    const u = await h.enroll('alice');
    hold = true;
    const pending = h.mfa.disable('alice', { totp: h.freshCode(u.secret) });
    for (let i = 0; i < 50; i++) await Promise.resolve();
    // Committed already, while the handler is still running.
    expect((await h.record('alice'))!.factors).toEqual([]);
    release();
    ok(await pending);
  });
});
