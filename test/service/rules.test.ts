/**
 * One test per rule of DESIGN.md §3, each named after the rule and written
 * so that removing the rule from the service makes it fail.
 */
import { randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { decodeBase32 } from '../../src/otp/base32.ts';
import { parseOtpauthUri } from '../../src/otp/index.ts';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { MemoryRecoveryCodeStore, RecoveryCodeStore } from '../../src/stores/index.ts';
import { webauthn } from '../../src/webauthn/index.ts';
import { SoftAuthenticator } from '../webauthn/soft-authenticator.ts';

const RP = { rpId: 'example.com', rpName: 'Example', origins: ['https://example.com'] };
import {
  codeAt,
  DAY,
  expectMfaError,
  Harness,
  HOUR,
  KEY_1,
  KEY_2,
  MINUTE,
  ok,
  RecordingCodeStore,
  SECOND,
  wrongCodeAt,
} from './fixtures.ts';

const CODE_FORMAT = /^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){5}$/;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A wrong TOTP login for `userId`; returns the result. */
async function failLogin(h: Harness, userId: string, secret: string, mfa: MfaService = h.mfa) {
  return h.login(userId, { totp: wrongCodeAt(secret, h.now) }, mfa);
}

function flipChar(text: string, index: number, to: string): string {
  return text.slice(0, index) + to + text.slice(index + 1);
}

// ---------------------------------------------------------------------------

describe('TOTP: RFC 6238, defaults SHA1 / 6 digits / 30 s, window past 1 / future 1', () => {
  it('enrolls with SHA1, 6 digits, 30 s and a 160-bit base32 secret, and accepts codes from an independent implementation', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    const uri = parseOtpauthUri(begun.uri);
    expect(uri).toMatchObject({ issuer: 'Example App', accountName: 'alice@example.com', algorithm: 'SHA1', digits: 6, period: 30 });
    expect(uri.secret).toBe(begun.secret);
    expect(begun.secret).toMatch(/^[A-Z2-7]{32}$/); // 20 bytes, no padding
    expect(begun.uri).not.toContain('=='); // no padding in the URI
    expect(decodeBase32(begun.secret)?.length).toBe(20);
    // Two enrollments never share a secret.
    const other = ok(await h.mfa.beginEnrollment('bob', { accountName: 'bob@example.com' }));
    expect(other.secret).not.toBe(begun.secret);

    const reference = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(begun.secret), algorithm: 'SHA1', digits: 6, period: 30 });
    ok(await h.mfa.confirmEnrollment('alice', reference.generate({ timestamp: h.now })));
    h.clock.advance(30 * SECOND);
    const result = ok(await h.login('alice', { totp: reference.generate({ timestamp: h.now }) }));
    expect(result).toMatchObject({ userId: 'alice', method: 'totp' });
  });

  it('accepts codes from steps -1, 0 and +1 and refuses -2 and +2 at login', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(10 * 30 * SECOND);
    const at = (delta: number) => codeAt(u.secret, h.now + delta * 30 * SECOND);
    // ±2 first, so a refusal cannot be blamed on the replay rule.
    expect(await h.login('alice', { totp: at(-2) })).toMatchObject({ ok: false, reason: 'invalid_code' });
    expect(await h.login('alice', { totp: at(+2) })).toMatchObject({ ok: false, reason: 'invalid_code' });
    ok(await h.login('alice', { totp: at(-1) }));
    ok(await h.login('alice', { totp: at(0) }));
    ok(await h.login('alice', { totp: at(+1) }));
  });

  it('accepts a wider window only when configured', async () => {
    const h = new Harness({ totp: { window: { past: 2, future: 0 } } });
    const u = await h.enroll('alice');
    h.clock.advance(10 * 30 * SECOND);
    const at = (delta: number) => codeAt(u.secret, h.now + delta * 30 * SECOND);
    expect(await h.login('alice', { totp: at(+1) })).toMatchObject({ ok: false, reason: 'invalid_code' });
    ok(await h.login('alice', { totp: at(-2) }));
  });

  it('keeps the parameters a user enrolled with when the service options change later', async () => {
    const h = new Harness();
    const old = await h.enroll('alice');
    const sha256 = { algorithm: 'SHA256', digits: 8, period: 60 } as const;
    const changed = h.service({ totp: sha256 });

    // alice keeps SHA1/6/30 on the new configuration...
    ok(await h.login('alice', { totp: h.freshCode(old.secret) }, changed));
    // ...and an 8-digit code is malformed for her.
    expect(await h.login('alice', { totp: codeAt(old.secret, h.now, sha256) }, changed)).toMatchObject({ ok: false, reason: 'malformed' });

    // bob enrolls under the new configuration and keeps it on the old one.
    const bob = await h.enroll('bob', changed, sha256);
    expect(parseOtpauthUri(bob.uri)).toMatchObject({ algorithm: 'SHA256', digits: 8, period: 60 });
    h.clock.advance(60 * SECOND);
    ok(await h.login('bob', { totp: codeAt(bob.secret, h.now, sha256) }, h.mfa));
    expect(await h.login('bob', { totp: codeAt(bob.secret, h.now + 60 * SECOND) }, h.mfa)).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

// ---------------------------------------------------------------------------

describe('Replay: a code is accepted at most once; only a strictly later step afterwards', () => {
  it('refuses a code accepted once when it comes back on a second challenge (replayed)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const code = h.freshCode(u.secret);
    ok(await h.login('alice', { totp: code }));
    // The step just accepted: refused, not counted (a double submit, see the lockout rules).
    expect(await h.login('alice', { totp: code })).toMatchObject({ ok: false, reason: 'replayed', attemptsLeft: 5 });
    // Also through another service instance on the same store: the replay state is persisted.
    expect(await h.login('alice', { totp: code }, h.service())).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('refuses an earlier step after a later one', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(5 * 30 * SECOND);
    ok(await h.login('alice', { totp: codeAt(u.secret, h.now + 30 * SECOND) })); // step +1
    expect(await h.login('alice', { totp: codeAt(u.secret, h.now) })).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await h.login('alice', { totp: codeAt(u.secret, h.now - 30 * SECOND) })).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('refuses the code that confirmed enrollment for the first login', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    const code = codeAt(begun.secret, h.now);
    ok(await h.mfa.confirmEnrollment('alice', code));
    h.clock.advance(10 * SECOND); // same step
    expect(await h.login('alice', { totp: code })).toMatchObject({ ok: false, reason: 'replayed' });
    // The previous step (still in the window) is earlier than the spent one.
    expect(await h.login('alice', { totp: codeAt(begun.secret, h.now - 30 * SECOND) })).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('refuses a confirmation code from a future step too, until a later step', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now + 30 * SECOND))); // step +1
    expect(await h.login('alice', { totp: codeAt(begun.secret, h.now) })).toMatchObject({ ok: false, reason: 'replayed' });
    h.clock.advance(60 * SECOND);
    ok(await h.login('alice', { totp: codeAt(begun.secret, h.now) }));
  });

  it('accepts a strictly later step', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    ok(await h.login('alice', { totp: codeAt(u.secret, h.now + 30 * SECOND) }));
  });

  it('applies to disable and regenerate as well', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const code = h.freshCode(u.secret);
    ok(await h.login('alice', { totp: code }));
    expect(await h.mfa.regenerateRecoveryCodes('alice', { totp: code })).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await h.mfa.disable('alice', { totp: code })).toMatchObject({ ok: false, reason: 'replayed' });
    expect((await h.mfa.status('alice')).state).toBe('enabled');
  });
});

// ---------------------------------------------------------------------------

describe('Lockout: consecutive failures lock for baseMs * 2^locks, capped at maxMs; codes are not evaluated while locked', () => {
  it('locks after maxFailures (5) consecutive failures, with retryAt = now + baseMs', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(MINUTE);
    for (const left of [4, 3, 2, 1]) {
      expect(await failLogin(h, 'alice', u.secret)).toEqual({ ok: false, reason: 'invalid_code', attemptsLeft: left });
    }
    expect((await h.mfa.status('alice')).state).toBe('enabled');
    expect(await failLogin(h, 'alice', u.secret)).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: h.now + MINUTE });
  });

  it('refuses even a valid TOTP code while locked, without evaluating it (it still works once the lock ends)', async () => {
    const h = new Harness({ lockout: { baseMs: 10 * SECOND } });
    const u = await h.enroll('alice');
    h.clock.advance(30 * SECOND); // 5 s into a fresh step
    // The challenge was issued before the lock (startLogin refuses locked users).
    const challenge = await h.challenge('alice');
    for (let i = 0; i < 5; i++) await h.mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) });
    const valid = codeAt(u.secret, h.now);
    const before = await h.record('alice');
    expect(await h.mfa.verifyLogin(challenge, { totp: valid })).toEqual({ ok: false, reason: 'locked', retryAt: h.now + 10 * SECOND });
    expect(await h.mfa.disable('alice', { totp: valid })).toMatchObject({ ok: false, reason: 'locked' });
    expect(await h.mfa.regenerateRecoveryCodes('alice', { totp: valid })).toMatchObject({ ok: false, reason: 'locked' });
    expect((await h.totpFactor('alice'))!.lastStep).toBe((before!.factors[0] as { lastStep: number }).lastStep);
    expect((await h.mfa.status('alice')).state).toBe('locked');

    h.clock.advance(10 * SECOND); // same step: the code is still current
    // The challenge died with the lock; a new login (after the password again) works.
    expect(await h.mfa.verifyLogin(challenge, { totp: valid })).toEqual({ ok: false, reason: 'challenge_invalid' });
    ok(await h.mfa.verifyLogin(await h.challenge('alice'), { totp: valid }));
  });

  it('refuses even a valid recovery code while locked, without consuming it', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    for (let i = 0; i < 5; i++) await h.mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) });
    const code = u.codes[0]!;
    expect(await h.mfa.verifyLogin(challenge, { recoveryCode: code })).toMatchObject({ ok: false, reason: 'locked' });
    expect(await h.mfa.disable('alice', { recoveryCode: code })).toMatchObject({ ok: false, reason: 'locked' });
    expect(await h.mfa.regenerateRecoveryCodes('alice', { recoveryCode: code })).toMatchObject({ ok: false, reason: 'locked' });
    expect(await h.codes.countUnused('alice')).toBe(10);
    h.clock.advance(MINUTE);
    expect(ok(await h.mfa.verifyLogin(await h.challenge('alice'), { recoveryCode: code })).recoveryCodesRemaining).toBe(9);
  });

  it('doubles the lock on each further lock (1, 2, 4 … min), capped at maxMs (1 h)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const lengths: number[] = [];
    for (let lock = 0; lock < 9; lock++) {
      let result;
      for (let i = 0; i < 5; i++) result = await failLogin(h, 'alice', u.secret);
      expect(result).toMatchObject({ ok: false, reason: 'locked' });
      const retryAt = (result as { retryAt: number }).retryAt;
      lengths.push((retryAt - h.now) / MINUTE);
      h.clock.set(retryAt - 1);
      expect((await h.mfa.status('alice')).state).toBe('locked');
      h.clock.set(retryAt);
      expect((await h.mfa.status('alice')).state).toBe('enabled');
    }
    expect(lengths).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('honours custom baseMs and maxMs', async () => {
    const h = new Harness({ lockout: { maxFailures: 2, baseMs: 3 * SECOND, maxMs: 10 * SECOND } });
    const u = await h.enroll('alice');
    const lengths: number[] = [];
    for (let lock = 0; lock < 4; lock++) {
      await failLogin(h, 'alice', u.secret);
      const result = (await failLogin(h, 'alice', u.secret)) as { retryAt: number };
      lengths.push(result.retryAt - h.now);
      h.clock.set(result.retryAt);
    }
    expect(lengths).toEqual([3 * SECOND, 6 * SECOND, 10 * SECOND, 10 * SECOND]);
  });

  it('a success resets the consecutive count (4 failures, success, 4 failures: not locked)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    for (let i = 0; i < 4; i++) await failLogin(h, 'alice', u.secret);
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    let last;
    for (let i = 0; i < 4; i++) last = await failLogin(h, 'alice', u.secret);
    expect(last).toEqual({ ok: false, reason: 'invalid_code', attemptsLeft: 1 });
    expect((await h.mfa.status('alice')).state).toBe('enabled');
  });

  it('a success resets the backoff too (the next lock is baseMs again)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    for (let i = 0; i < 5; i++) await failLogin(h, 'alice', u.secret);
    h.clock.advance(MINUTE);
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    let result;
    for (let i = 0; i < 5; i++) result = await failLogin(h, 'alice', u.secret);
    expect(result).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
  });

  it('counts failures of every method (TOTP, recovery code, disable, regenerate) towards one lock', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(MINUTE);
    const wrongRecovery = '0000-0000-0000-0000-0000-0000';
    expect(await failLogin(h, 'alice', u.secret)).toMatchObject({ reason: 'invalid_code', attemptsLeft: 4 });
    expect(await h.login('alice', { recoveryCode: wrongRecovery })).toMatchObject({ reason: 'invalid_code', attemptsLeft: 3 });
    expect(await h.mfa.disable('alice', { totp: h.wrongCode(u.secret) })).toMatchObject({ reason: 'invalid_code', attemptsLeft: 2 });
    expect(await h.mfa.regenerateRecoveryCodes('alice', { recoveryCode: wrongRecovery })).toMatchObject({ reason: 'invalid_code', attemptsLeft: 1 });
    expect(await h.mfa.disable('alice', { recoveryCode: wrongRecovery })).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
    expect((await h.mfa.status('alice')).state).toBe('locked');
  });

  it('counts a replayed code of an earlier step as a failure', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(5 * 30 * SECOND);
    const earlier = codeAt(u.secret, h.now);
    ok(await h.login('alice', { totp: codeAt(u.secret, h.now + 30 * SECOND) })); // step +1 accepted
    for (const left of [4, 3, 2, 1]) {
      expect(await h.login('alice', { totp: earlier })).toEqual({ ok: false, reason: 'replayed', attemptsLeft: left });
    }
    expect(await h.login('alice', { totp: earlier })).toMatchObject({ ok: false, reason: 'locked' });
  });

  it('a double-submitted correct code is refused as replayed but is not a failure (issue 8.3)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const code = h.freshCode(u.secret);
    ok(await h.login('alice', { totp: code }));
    const failuresBefore = (await h.record('alice'))!.failures;
    // Twenty double clicks / re-posted forms, each on its own challenge (two tabs), and in every context.
    for (let i = 0; i < 20; i++) {
      expect(await h.login('alice', { totp: code })).toEqual({ ok: false, reason: 'replayed', attemptsLeft: 5 });
      expect(await h.mfa.disable('alice', { totp: code })).toEqual({ ok: false, reason: 'replayed', attemptsLeft: 5 });
      expect(await h.mfa.regenerateRecoveryCodes('alice', { totp: code })).toEqual({ ok: false, reason: 'replayed', attemptsLeft: 5 });
    }
    const record = (await h.record('alice'))!;
    expect(record.failures).toBe(failuresBefore);
    expect(record.failuresSinceSuccess).toBe(0);
    expect((await h.mfa.status('alice')).state).toBe('enabled');
    expect(h.events.filter((e) => e.type === 'login.failed')).toEqual([]);
    // Failures still count around it: a wrong code is the first of five.
    expect(await failLogin(h, 'alice', u.secret)).toMatchObject({ reason: 'invalid_code', attemptsLeft: 4 });
  });

  it('a burst of 50 parallel submits of one correct code: one success, the rest replayed, no lock (issue 8.3)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const code = h.freshCode(u.secret);
    const challenges = await Promise.all(Array.from({ length: 50 }, () => h.challenge('alice')));
    const results = await Promise.all(challenges.map((c) => h.mfa.verifyLogin(c, { totp: code })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(new Set(results.filter((r) => !r.ok).map((r) => (r as { reason: string }).reason))).toEqual(new Set(['replayed']));
    expect((await h.mfa.status('alice')).state).toBe('enabled');
    expect((await h.record('alice'))!.failuresSinceSuccess).toBe(0);
  });

  it('does not count a malformed proof', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const junk: unknown[] = [{ totp: '12345' }, { totp: 'abcdef' }, { recoveryCode: 'nope' }, {}, null, { totp: '123456', recoveryCode: 'x' }];
    for (let i = 0; i < 20; i++) {
      expect(await h.login('alice', junk[i % junk.length] as never)).toEqual({ ok: false, reason: 'malformed' });
      expect(await h.mfa.disable('alice', junk[i % junk.length] as never)).toEqual({ ok: false, reason: 'malformed' });
      expect(await h.mfa.regenerateRecoveryCodes('alice', junk[i % junk.length] as never)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(await failLogin(h, 'alice', u.secret)).toMatchObject({ reason: 'invalid_code', attemptsLeft: 4 });
  });

  it('ends the lock by itself at retryAt', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    let locked;
    for (let i = 0; i < 5; i++) locked = await failLogin(h, 'alice', u.secret);
    const retryAt = (locked as { retryAt: number }).retryAt;
    h.clock.set(retryAt - 1);
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: false, reason: 'locked', retryAt, mfaRequired: true });
    h.clock.set(retryAt);
    ok(await h.login('alice', { totp: codeAt(u.secret, h.now) }));
  });

  it('ends the lock on unlock', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    expect(await h.mfa.unlock('alice')).toEqual({ ok: false, reason: 'not_locked' });
    for (let i = 0; i < 5; i++) await failLogin(h, 'alice', u.secret);
    ok(await h.mfa.unlock('alice'));
    expect((await h.mfa.status('alice')).state).toBe('enabled');
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    // unlock also reset the count and the backoff.
    let result;
    for (let i = 0; i < 5; i++) result = await failLogin(h, 'alice', u.secret);
    expect(result).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
  });

  it('refuses to start an email recovery while locked: a locked owner could not sign in to stop it', async () => {
    const h = new Harness({ lockout: { maxFailures: 5, hardLimit: 5 } });
    const u = await h.enroll('alice');
    for (let i = 0; i < 5; i++) await failLogin(h, 'alice', u.secret);
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: null });
    expect(await h.mfa.requestEmailRecovery('alice')).toEqual({ ok: false, reason: 'locked', retryAt: null });
    expect((await h.record('alice'))!.emailRecovery).toBeNull();
    // Support ends the lock; then the owner can ask again.
    ok(await h.mfa.unlock('alice'));
    ok(await h.mfa.requestEmailRecovery('alice'));
  });

  it('a temporary lock also refuses email recovery until it ends', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    let last;
    for (let i = 0; i < 5; i++) last = await failLogin(h, 'alice', u.secret);
    expect(last).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
    expect(await h.mfa.requestEmailRecovery('alice')).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
    h.clock.advance(MINUTE);
    ok(await h.mfa.requestEmailRecovery('alice'));
  });

  it('a lock during the waiting period cancels the pending email recovery (a thief with password and mailbox cannot lock the owner out and wait)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    const mark = h.events.length;
    let last;
    for (let i = 0; i < 5; i++) last = await failLogin(h, 'alice', u.secret);
    expect(last).toMatchObject({ ok: false, reason: 'locked' });
    expect(h.events.slice(mark).filter((e) => e.type === 'email_recovery.cancelled')).toEqual([
      { type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'account_locked' },
    ]);
    expect((await h.mfa.status('alice')).pendingEmailRecovery).toBeUndefined();
    // Keep failing through every lock until the hard limit, past the waiting period: the token stays dead.
    h.clock.set((last as { retryAt: number }).retryAt);
    for (let i = 5; i < 100; i++) {
      const result = await failLogin(h, 'alice', u.secret);
      if (result.ok === false && result.reason === 'locked' && result.retryAt !== null) h.clock.set(result.retryAt);
    }
    h.clock.set(Math.max(h.now, r.notBefore));
    expect(await h.mfa.completeEmailRecovery('alice', r.token)).toEqual({ ok: false, reason: 'cancelled' });
    expect((await h.mfa.status('alice')).state).toBe('locked');
  });

  it('a manual lock during the waiting period cancels the pending email recovery too', async () => {
    const h = new Harness();
    await h.enroll('alice');
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    ok(await h.mfa.lock('alice', { reason: 'support: suspected takeover' }));
    h.clock.set(r.notBefore);
    expect(await h.mfa.completeEmailRecovery('alice', r.token)).toEqual({ ok: false, reason: 'cancelled' });
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: null });
  });

  it('locks indefinitely (retryAt null) after hardLimit failures without a success, through lock expiries', async () => {
    const h = new Harness({ lockout: { maxFailures: 3, hardLimit: 7 } });
    const u = await h.enroll('alice');
    const results = [];
    for (let i = 0; i < 7; i++) {
      const r = await failLogin(h, 'alice', u.secret);
      results.push(r);
      if (r.ok === false && r.reason === 'locked' && typeof r.retryAt === 'number') h.clock.set(r.retryAt);
    }
    expect(results.map((r) => (r.ok === false && r.reason === 'locked' ? `L${r.retryAt === null ? '∞' : ''}` : String((r as { attemptsLeft: number }).attemptsLeft)))).toEqual(
      ['2', '1', 'L', '2', '1', 'L', 'L∞'],
    );
    h.clock.advance(365 * DAY);
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: null });
    ok(await h.mfa.unlock('alice'));
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
  });

  it('with defaults, 100 failures without a success lock until unlock', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    let temporaryLocks = 0;
    let last;
    for (let i = 1; i <= 100; i++) {
      last = await failLogin(h, 'alice', u.secret);
      if (i < 100) expect(last, `failure ${i}`).not.toMatchObject({ retryAt: null });
      if (last.ok === false && last.reason === 'locked' && last.retryAt !== null) {
        temporaryLocks++;
        h.clock.set(last.retryAt);
      }
    }
    expect(temporaryLocks).toBe(19);
    expect(last).toEqual({ ok: false, reason: 'locked', retryAt: null });
    expect(h.eventsOf('account.locked').at(-1)).toMatchObject({ cause: 'failure_limit', retryAt: null });

    h.clock.advance(365 * DAY);
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: false, reason: 'locked', retryAt: null, mfaRequired: true });
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: null });
    ok(await h.mfa.unlock('alice'));
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
  });

  it('startLogin of a locked user returns ok: false, reason locked, mfaRequired: true', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    for (let i = 0; i < 5; i++) await failLogin(h, 'alice', u.secret);
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE, mfaRequired: true });
    ok(await h.mfa.lock('alice', { reason: 'support ticket 42' }));
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: false, reason: 'locked', retryAt: null, mfaRequired: true });
  });

  it('a stranger cannot lock anyone: without a real challenge no failure is counted', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(MINUTE);
    const before = await h.users.get('alice');
    const real = await h.challenge('alice');
    const [, user, , epoch] = real.split('.');
    const foreign = h.service({ secretKey: KEY_2 });
    const foreignChallenge = await foreign.startLogin('alice');
    for (let i = 0; i < 1000; i++) {
      const id = randomBytes(16).toString('base64url');
      const mac = randomBytes(32).toString('base64url');
      const forged = [
        `c1.${user}.${h.now + MINUTE}.${epoch}.${id}.${mac}`,
        flipChar(real, real.length - 2 - (i % 40), real[real.length - 2 - (i % 40)] === 'A' ? 'B' : 'A'),
        (foreignChallenge as { challenge: string }).challenge,
        `garbage-${i}`,
      ][i % 4]!;
      const proof = i % 2 === 0 ? { totp: wrongCodeAt(u.secret, h.now) } : { recoveryCode: '0000-0000-0000-0000-0000-0000' };
      expect(await h.mfa.verifyLogin(forged, proof)).toEqual({ ok: false, reason: 'challenge_invalid' });
    }
    expect(await h.users.get('alice')).toEqual(before);
    expect((await h.mfa.status('alice')).state).toBe('enabled');
    expect(await failLogin(h, 'alice', u.secret)).toMatchObject({ reason: 'invalid_code', attemptsLeft: 4 });
  });
});

// ---------------------------------------------------------------------------

describe('Secrets at rest: sealed (AES-256-GCM) under secretKey, bound to the user, with a key id; stores never see plaintext', () => {
  it('the UserStore never holds the secret, the raw key, a recovery code or the email token', async () => {
    const h = new Harness();
    const needles: string[] = [];
    const check = async (stage: string) => {
      const json = JSON.stringify(await h.record('alice')).toLowerCase();
      for (const needle of needles) expect(json.includes(needle.toLowerCase()), `${stage}: ${needle.slice(0, 4)}…`).toBe(false);
    };
    const addCodes = (codes: string[]) => {
      for (const code of codes) needles.push(code, code.replace(/-/g, ''), code.split('-').join(' '));
    };
    const addSecret = (secret: string) => {
      const key = Buffer.from(decodeBase32(secret)!);
      needles.push(secret, key.toString('hex'), key.toString('base64').replace(/=+$/, ''), key.toString('base64url'));
    };

    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    addSecret(begun.secret);
    await check('enrolling');
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    await check('enabled, codes not yet revealed');
    const revealed = ok(await h.mfa.revealRecoveryCodes('alice'));
    addCodes(revealed.codes);
    await check('revealed');
    ok(await h.login('alice', { recoveryCode: revealed.codes[0]! }));
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(begun.secret) }));
    await check('regenerated, not yet revealed');
    addCodes(ok(await h.mfa.revealRecoveryCodes('alice')).codes);
    const { token } = ok(await h.mfa.requestEmailRecovery('alice'));
    needles.push(token);
    await check('email recovery pending');
    expect((await h.totpFactor('alice'))!.secret).toMatch(/^v1\.[0-9a-f]{8}\./);
  });

  it('binds sealed values to the user: a record copied to another user id does not open', async () => {
    const h = new Harness();
    const a = await h.enroll('alice');
    // bob gets alice's record verbatim.
    const record = (await h.record('alice'))!;
    expect(await h.users.put('bob', record, null)).toBe(true);
    const code = h.freshCode(a.secret);
    const challenge = await h.challenge('bob');
    await expectMfaError(h.mfa.verifyLogin(challenge, { totp: code }), 'seal_invalid');
    await expectMfaError(h.mfa.disable('bob', { totp: code }), 'seal_invalid');
    expect((await h.mfa.status('bob')).state).toBe('enabled');
    // alice herself is unaffected.
    ok(await h.login('alice', { totp: code }));
  });

  it('binds unrevealed recovery codes to the user', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    expect(await h.users.put('bob', (await h.record('alice'))!, null)).toBe(true);
    await expectMfaError(h.mfa.revealRecoveryCodes('bob'), 'seal_invalid');
  });

  it('binds recovery-code hashes to the user: alice\'s hashes in bob\'s set do not accept alice\'s codes', async () => {
    const codes = new RecordingCodeStore();
    const h = new Harness({}, { codes: codes as unknown as MemoryRecoveryCodeStore });
    const a = await h.enroll('alice');
    const b = await h.enroll('bob');
    const aliceSet = codes.calls.filter((c) => c.method === 'replace' && c.args[0] === 'alice').at(-1)!;
    await codes.replace(...(['bob', ...aliceSet.args.slice(1)] as Parameters<RecoveryCodeStore['replace']>));
    expect(await h.login('bob', { recoveryCode: a.codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
    void b;
  });

  it('rotates keys: K1 secrets, codes, challenges and tokens work under K2 with previousSecretKeys [K1]; a TOTP login re-seals under K2', async () => {
    const h = new Harness({ secretKey: KEY_1 });
    const alice = await h.enroll('alice');
    const bob = await h.enroll('bob');
    // carol's codes are still sealed (not revealed) under K1.
    const carolBegun = ok(await h.mfa.beginEnrollment('carol', { accountName: 'carol' }));
    ok(await h.mfa.confirmEnrollment('carol', codeAt(carolBegun.secret, h.now)));
    const k1Challenge = await h.challenge('alice');
    const { token } = ok(await h.mfa.requestEmailRecovery('bob'));
    const k1KeyId = (await h.totpFactor('alice'))!.secret.split('.')[1];

    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    const k2Only = h.service({ secretKey: KEY_2 });

    // Before any login under K2, a ring without K1 cannot open alice's secret: her code is refused (a value, not counted).
    h.clock.advance(30 * SECOND);
    expect(await h.login('alice', { totp: codeAt(alice.secret, h.now) }, k2Only)).toMatchObject({ ok: false, reason: 'invalid_code' });
    expect((await h.record('alice'))!.failures).toBe(0);

    // A challenge signed under K1 verifies; the secret sealed under K1 opens.
    ok(await rotated.verifyLogin(k1Challenge, { totp: codeAt(alice.secret, h.now) }));
    const resealed = (await h.totpFactor('alice'))!.secret;
    expect(resealed.split('.')[1]).not.toBe(k1KeyId);
    // Now a service with only K2 verifies alice.
    ok(await h.login('alice', { totp: h.freshCode(alice.secret) }, k2Only));

    // Recovery codes made under K1 still work.
    ok(await h.login('bob', { recoveryCode: bob.codes[0]! }, rotated));
    // Codes sealed under K1 are revealed under K2 and work.
    const carolCodes = ok(await rotated.revealRecoveryCodes('carol')).codes;
    ok(await h.login('carol', { recoveryCode: carolCodes[0]! }, rotated));
    // An email token made under K1 still works.
    const rotatedRecovery = new Harness({ secretKey: KEY_2, previousSecretKeys: [KEY_1] }, { users: h.users, codes: h.codes, clock: h.clock });
    // (bob's recovery was cancelled by his login above; ask again under K1 to test the token)
    const second = ok(await h.mfa.requestEmailRecovery('bob'));
    h.clock.advance(DAY);
    expect(await rotatedRecovery.mfa.completeEmailRecovery('bob', token)).toMatchObject({ ok: false, reason: 'invalid_token' });
    ok(await rotatedRecovery.mfa.completeEmailRecovery('bob', second.token));
  });

  it('rotates keys: a login under the new key also re-seals a not-yet-revealed code set, so dropping the old key breaks nothing', async () => {
    const h = new Harness({ secretKey: KEY_1 });
    const begun = ok(await h.mfa.beginEnrollment('dave', { accountName: 'dave' }));
    ok(await h.mfa.confirmEnrollment('dave', codeAt(begun.secret, h.now)));
    const k1KeyId = (await h.record('dave'))!.unrevealedCodes!.split('.')[1];
    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    ok(await h.login('dave', { totp: h.freshCode(begun.secret) }, rotated));
    const record = (await h.record('dave'))!;
    expect(record.unrevealedCodes!.split('.')[1]).not.toBe(k1KeyId);
    expect((record.factors[0] as { secret: string }).secret.split('.')[1]).toBe(record.unrevealedCodes!.split('.')[1]);
    // K1 gone: status, login and the one-time reveal all still work.
    const k2Only = h.service({ secretKey: KEY_2 });
    expect(await k2Only.status('dave')).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10, recoveryCodesUnrevealed: true });
    ok(await h.login('dave', { totp: h.freshCode(begun.secret) }, k2Only));
    const codes = ok(await k2Only.revealRecoveryCodes('dave')).codes;
    ok(await h.login('dave', { recoveryCode: codes[0]! }, k2Only));
  });

  it('rotates keys: a code set still sealed under a dropped key never breaks status or a valid login', async () => {
    const h = new Harness({ secretKey: KEY_1 });
    const begun = ok(await h.mfa.beginEnrollment('erin', { accountName: 'erin' }));
    ok(await h.mfa.confirmEnrollment('erin', codeAt(begun.secret, h.now)));
    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    // Re-seal only the TOTP secret (as before the fix a login did), leaving the code set under K1.
    const stored = (await h.users.get('erin'))!;
    ok(await h.login('erin', { totp: h.freshCode(begun.secret) }, rotated));
    const after = (await h.users.get('erin'))!;
    // Put the K1-sealed code set back, as a record written before the re-seal would hold it.
    expect(await h.users.put('erin', { ...after.record, unrevealedCodes: stored.record.unrevealedCodes }, after.version)).toBe(true);
    const k2Only = h.service({ secretKey: KEY_2 });
    expect((await k2Only.status('erin')).state).toBe('enabled');
    ok(await h.login('erin', { totp: h.freshCode(begun.secret) }, k2Only));
    // The set can never be shown now: nobody has seen it, so a fresh one takes its place, shown once, and it works.
    const fresh = ok(await k2Only.revealRecoveryCodes('erin')).codes;
    expect(fresh).toHaveLength(10);
    expect(await k2Only.revealRecoveryCodes('erin')).toMatchObject({ ok: false, reason: 'already_revealed' });
    ok(await h.login('erin', { recoveryCode: fresh[0]! }, k2Only));
    // Regenerating still gives another fresh one.
    ok(await k2Only.regenerateRecoveryCodes('erin', { totp: h.freshCode(begun.secret) }));
    expect(ok(await k2Only.revealRecoveryCodes('erin')).codes).toHaveLength(10);
  });
});

// ---------------------------------------------------------------------------

describe('Recovery codes: 10 by default, 120 bits, stored as hashes, each usable once, revealed once', () => {
  it('creates 10 distinct codes formatted XXXX-XXXX-XXXX-XXXX-XXXX-XXXX (Crockford base32)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    expect(u.codes).toHaveLength(10);
    expect(new Set(u.codes).size).toBe(10);
    for (const code of u.codes) expect(code).toMatch(CODE_FORMAT);
    expect(await h.mfa.status('alice')).toMatchObject({ recoveryCodesRemaining: 10 });
  });

  it('the RecoveryCodeStore only ever sees hashes, never a plaintext code', async () => {
    const codes = new RecordingCodeStore();
    const h = new Harness({}, { codes: codes as unknown as MemoryRecoveryCodeStore });
    const u = await h.enroll('alice');
    ok(await h.login('alice', { recoveryCode: u.codes[0]!.toLowerCase() }));
    ok(await h.mfa.regenerateRecoveryCodes('alice', { recoveryCode: u.codes[1]! }));
    const fresh = ok(await h.mfa.revealRecoveryCodes('alice')).codes;
    expect(await h.login('alice', { recoveryCode: u.codes[2]! })).toMatchObject({ reason: 'invalid_code' });
    ok(await h.mfa.disable('alice', { recoveryCode: fresh[0]! }));

    const all = [...u.codes, ...fresh];
    const seen = JSON.stringify(codes.calls).toLowerCase();
    for (const code of all) {
      for (const form of [code, code.replace(/-/g, '')]) expect(seen.includes(form.toLowerCase())).toBe(false);
    }
    const hashes = codes.calls.flatMap((c) => (c.method === 'replace' ? (c.args[1] as string[]) : c.method === 'consume' || c.method === 'restore' ? [c.args[1] as string] : []));
    expect(hashes.length).toBeGreaterThan(20);
    for (const hash of hashes) expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(codes.calls.some((c) => c.method === 'clear')).toBe(true);
  });

  it('forgives case, missing dashes, spaces and look-alikes (O for 0, l/I for 1)', async () => {
    const h = new Harness({ recovery: { codeCount: 100 } });
    const u = await h.enroll('alice');
    // Distinct codes: one holding a 0, two holding a 1 (100 codes make this near certain).
    const withZero = u.codes.filter((c) => c.includes('0') && !c.includes('1'));
    const withOne = u.codes.filter((c) => c.includes('1') && !c.includes('0'));
    expect(withZero.length).toBeGreaterThan(0);
    expect(withOne.length).toBeGreaterThan(1);
    const used = new Set([withZero[0], withOne[0], withOne[1]]);
    const rest = u.codes.filter((c) => !used.has(c));
    const forms = [
      rest[0]!.toLowerCase(),
      rest[1]!.replace(/-/g, ''),
      rest[2]!.replace(/-/g, ' '),
      ` ${rest[3]!.toLowerCase().replace(/-/g, '')} `,
      withZero[0]!.replace(/0/g, 'O'),
      withOne[0]!.replace(/1/g, 'l'),
      withOne[1]!.replace(/1/g, 'I').toLowerCase(),
    ];
    for (const form of forms) expect(ok(await h.login('alice', { recoveryCode: form })).method).toBe('recovery_code');
    expect(await h.codes.countUnused('alice')).toBe(100 - forms.length);
  });

  it('accepts each code once (a second use, in any form, is invalid_code)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const code = u.codes[3]!;
    expect(ok(await h.login('alice', { recoveryCode: code }))).toEqual({ ok: true, userId: 'alice', method: 'recovery_code', recoveryCodesRemaining: 9 });
    expect(await h.login('alice', { recoveryCode: code })).toMatchObject({ ok: false, reason: 'invalid_code', attemptsLeft: 4 });
    expect(await h.login('alice', { recoveryCode: code.toLowerCase().replace(/-/g, '') })).toMatchObject({ ok: false, reason: 'invalid_code' });
    expect(await h.mfa.disable('alice', { recoveryCode: code })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('shows the count remaining in status and in the verifyLogin result', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    for (let i = 0; i < 10; i++) {
      expect((await h.mfa.status('alice')).recoveryCodesRemaining).toBe(10 - i);
      expect(ok(await h.login('alice', { recoveryCode: u.codes[i]! })).recoveryCodesRemaining).toBe(9 - i);
    }
    expect((await h.mfa.status('alice')).recoveryCodesRemaining).toBe(0);
    expect(ok(await h.login('alice', { totp: h.freshCode(u.secret) })).recoveryCodesRemaining).toBe(0);
  });

  for (const proofKind of ['totp', 'recoveryCode'] as const) {
    it(`regeneration (with a ${proofKind} proof) kills every old code; the new ones work after the reveal`, async () => {
      const h = new Harness({ lockout: { maxFailures: 100, hardLimit: 100 } });
      const u = await h.enroll('alice');
      const proof = proofKind === 'totp' ? { totp: h.freshCode(u.secret) } : { recoveryCode: u.codes[9]! };
      expect(await h.mfa.regenerateRecoveryCodes('alice', proof)).toEqual({ ok: true, method: proofKind === 'totp' ? 'totp' : 'recovery_code' });
      expect(await h.mfa.status('alice')).toMatchObject({ recoveryCodesRemaining: 10, recoveryCodesUnrevealed: true });
      for (const old of u.codes) expect(await h.login('alice', { recoveryCode: old })).toMatchObject({ ok: false, reason: 'invalid_code' });
      const fresh = ok(await h.mfa.revealRecoveryCodes('alice')).codes;
      expect(fresh).toHaveLength(10);
      expect(fresh.filter((c) => u.codes.includes(c))).toEqual([]);
      for (const [i, code] of fresh.entries()) expect(ok(await h.login('alice', { recoveryCode: code })).recoveryCodesRemaining).toBe(9 - i);
    });
  }

  it('reveals the plaintext exactly once (already_revealed), and once more after each regeneration', async () => {
    const h = new Harness();
    expect(await h.mfa.revealRecoveryCodes('alice')).toEqual({ ok: false, reason: 'not_enrolled' });
    const u = await h.enroll('alice'); // includes the one reveal
    expect(await h.mfa.revealRecoveryCodes('alice')).toEqual({ ok: false, reason: 'already_revealed' });
    expect(await h.service().revealRecoveryCodes('alice')).toEqual({ ok: false, reason: 'already_revealed' });
    expect((await h.record('alice'))!.unrevealedCodes).toBeNull();
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) }));
    ok(await h.mfa.revealRecoveryCodes('alice'));
    expect(await h.mfa.revealRecoveryCodes('alice')).toEqual({ ok: false, reason: 'already_revealed' });
  });

  it('reveals a ready-to-save text file holding every code, with a file name from the issuer', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    const revealed = ok(await h.mfa.revealRecoveryCodes('alice'));
    expect(revealed.filename).toBe('example-app-recovery-codes.txt');
    expect(revealed.text).toContain('Example App');
    expect(revealed.text).toContain('alice@example.com');
    for (const code of revealed.codes) expect(revealed.text).toContain(code);
    const lines = revealed.text.split('\n').filter((line) => CODE_FORMAT.test(line.replace(/^\s*\d+\.\s*/, '')));
    expect(lines).toHaveLength(10);
    expect(revealed.text.endsWith('\n')).toBe(true);
  });
});

// ---------------------------------------------------------------------------

describe('Challenges: short-lived, bound to one user, unforgeable, dead after one success', () => {
  it('are bound to one user: a challenge for alice never logs in bob', async () => {
    const h = new Harness();
    const a = await h.enroll('alice');
    const b = await h.enroll('bob');
    h.clock.advance(30 * SECOND);
    const forAlice = await h.challenge('alice');
    const parts = forAlice.split('.');
    parts[1] = Buffer.from('bob').toString('base64url');
    expect(await h.mfa.verifyLogin(parts.join('.'), { totp: codeAt(b.secret, h.now) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    // bob's code on alice's challenge is checked against alice's secret.
    expect(await h.mfa.verifyLogin(forAlice, { totp: codeAt(b.secret, h.now) })).toMatchObject({ ok: false, reason: 'invalid_code' });
    expect(ok(await h.mfa.verifyLogin(forAlice, { totp: codeAt(a.secret, h.now) })).userId).toBe('alice');
  });

  it('are unforgeable: any changed character of the MAC, or any other field, is challenge_invalid', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(30 * SECOND);
    const challenge = await h.challenge('alice');
    const proof = { totp: codeAt(u.secret, h.now) };
    // Probe with a malformed proof: anything but challenge_invalid means the forged challenge was accepted
    // (a valid proof would log in and spend the challenge, hiding further accepted variants).
    const probe = { totp: 'x' };
    const macStart = challenge.lastIndexOf('.') + 1;
    const accepted: string[] = [];
    for (let i = macStart; i < challenge.length; i++) {
      for (const c of B64URL) {
        if (c === challenge[i]) continue;
        const forged = flipChar(challenge, i, c);
        const result = await h.mfa.verifyLogin(forged, probe);
        if (!(result.ok === false && result.reason === 'challenge_invalid')) accepted.push(`${i - macStart}:${c}`);
      }
    }
    expect(accepted, 'MAC variants that were not challenge_invalid').toEqual([]);
    // Other fields: expiresAt, epoch, id.
    const parts = challenge.split('.');
    for (const [index, value] of [[2, String(Number(parts[2]) + MINUTE)], [3, String(Number(parts[3]) + 1)], [4, randomBytes(16).toString('base64url')]] as const) {
      const forged = [...parts];
      forged[index] = value;
      expect(await h.mfa.verifyLogin(forged.join('.'), proof)).toEqual({ ok: false, reason: 'challenge_invalid' });
    }
    ok(await h.mfa.verifyLogin(challenge, proof));
  });

  it('are unforgeable: a challenge signed under another secretKey is challenge_invalid', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const other = h.service({ secretKey: KEY_2 });
    const foreign = await h.challenge('alice', other);
    expect(await h.mfa.verifyLogin(foreign, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
  });

  it('expire after challengeTtlMs (default 5 min): challenge_expired', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(30 * SECOND);
    const start = h.now;
    const started = await h.mfa.startLogin('alice');
    expect(started).toMatchObject({ ok: true, mfaRequired: true, expiresAt: start + 5 * MINUTE });
    const first = (started as { challenge: string }).challenge;
    const second = await h.challenge('alice');
    h.clock.set(start + 5 * MINUTE - 1);
    ok(await h.mfa.verifyLogin(first, { totp: codeAt(u.secret, h.now) }));
    h.clock.set(start + 5 * MINUTE + 30 * SECOND);
    expect(await h.mfa.verifyLogin(second, { totp: codeAt(u.secret, h.now) })).toEqual({ ok: false, reason: 'challenge_expired' });
  });

  it('honour a custom challengeTtlMs', async () => {
    const h = new Harness({ challengeTtlMs: 10 * SECOND });
    const u = await h.enroll('alice');
    h.clock.advance(30 * SECOND);
    const challenge = await h.challenge('alice');
    h.clock.advance(10 * SECOND);
    expect(await h.mfa.verifyLogin(challenge, { totp: codeAt(u.secret, h.now) })).toEqual({ ok: false, reason: 'challenge_expired' });
  });

  it('are dead after one success, but survive a failure', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    h.clock.advance(30 * SECOND);
    expect(await h.mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) })).toMatchObject({ reason: 'invalid_code' });
    ok(await h.mfa.verifyLogin(challenge, { totp: codeAt(u.secret, h.now) }));
    expect(await h.mfa.verifyLogin(challenge, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.mfa.verifyLogin(challenge, { recoveryCode: u.codes[0]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.codes.countUnused('alice')).toBe(10);
    // ...also through another instance.
    expect(await h.service().verifyLogin(challenge, { recoveryCode: u.codes[0]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
  });

  it('let several open challenges coexist: either works', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const c1 = await h.challenge('alice');
    const c2 = await h.challenge('alice');
    const c3 = await h.challenge('alice');
    ok(await h.mfa.verifyLogin(c2, { totp: h.freshCode(u.secret) }));
    ok(await h.mfa.verifyLogin(c1, { totp: h.freshCode(u.secret) }));
    ok(await h.mfa.verifyLogin(c3, { recoveryCode: u.codes[0]! }));
  });

  it('die when MFA is disabled and re-enabled', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const old = await h.challenge('alice');
    ok(await h.mfa.disable('alice', { totp: h.freshCode(u.secret) }));
    expect(await h.mfa.verifyLogin(old, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    const again = await h.enroll('alice');
    expect(await h.mfa.verifyLogin(old, { totp: h.freshCode(again.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.mfa.verifyLogin(old, { recoveryCode: again.codes[0]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
    ok(await h.login('alice', { totp: h.freshCode(again.secret) }));
  });
});

// ---------------------------------------------------------------------------

describe('Email recovery: works after the waiting period and before expiry; an MFA login in between cancels it; every step emits an event', () => {
  it('works only after emailDelayMs (too_early before) and before emailTtlMs (expired after)', async () => {
    const h = new Harness();
    await h.enroll('alice');
    const start = h.now;
    const first = ok(await h.mfa.requestEmailRecovery('alice'));
    expect(first).toMatchObject({ notBefore: start + DAY, expiresAt: start + 3 * DAY });
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await h.mfa.completeEmailRecovery('alice', first.token)).toEqual({ ok: false, reason: 'too_early' });
    h.clock.set(first.notBefore - 1);
    expect(await h.mfa.completeEmailRecovery('alice', first.token)).toEqual({ ok: false, reason: 'too_early' });
    h.clock.set(first.expiresAt);
    expect(await h.mfa.completeEmailRecovery('alice', first.token)).toEqual({ ok: false, reason: 'expired' });
    expect((await h.mfa.status('alice')).state).toBe('enabled');

    const second = ok(await h.mfa.requestEmailRecovery('alice'));
    h.clock.set(second.notBefore);
    ok(await h.mfa.completeEmailRecovery('alice', second.token));
    expect((await h.mfa.status('alice')).state).toBe('registered');
  });

  it('honours custom emailDelayMs and emailTtlMs', async () => {
    const h = new Harness({ recovery: { emailDelayMs: HOUR, emailTtlMs: 2 * HOUR } });
    await h.enroll('alice');
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    expect(r).toMatchObject({ notBefore: h.now + HOUR, expiresAt: h.now + 2 * HOUR });
    h.clock.advance(HOUR);
    ok(await h.mfa.completeEmailRecovery('alice', r.token));
  });

  for (const method of ['totp', 'recoveryCode'] as const) {
    it(`is cancelled by a successful MFA login (${method}) during the wait`, async () => {
      const h = new Harness();
      const u = await h.enroll('alice');
      const r = ok(await h.mfa.requestEmailRecovery('alice'));
      expect((await h.mfa.status('alice')).pendingEmailRecovery).toEqual({ requestedAt: h.now, notBefore: r.notBefore, expiresAt: r.expiresAt });
      h.clock.advance(HOUR);
      const mark = h.events.length;
      ok(await h.login('alice', method === 'totp' ? { totp: h.freshCode(u.secret) } : { recoveryCode: u.codes[0]! }));
      expect(h.events.slice(mark).find((e) => e.type === 'email_recovery.cancelled')).toMatchObject({ cause: 'mfa_login', userId: 'alice' });
      expect((await h.mfa.status('alice')).pendingEmailRecovery).toBeUndefined();
      h.clock.set(r.notBefore);
      expect(await h.mfa.completeEmailRecovery('alice', r.token)).toEqual({ ok: false, reason: 'cancelled' });
      expect((await h.mfa.status('alice')).state).toBe('enabled');
    });
  }

  it('is not cancelled by a failed login', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    await failLogin(h, 'alice', u.secret);
    h.clock.set(r.notBefore);
    ok(await h.mfa.completeEmailRecovery('alice', r.token));
  });

  it('is cancelled by cancelEmailRecovery', async () => {
    const h = new Harness();
    await h.enroll('alice');
    expect(await h.mfa.cancelEmailRecovery('alice')).toEqual({ ok: false, reason: 'not_requested' });
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    ok(await h.mfa.cancelEmailRecovery('alice'));
    expect(await h.mfa.cancelEmailRecovery('alice')).toEqual({ ok: false, reason: 'not_requested' });
    h.clock.set(r.notBefore);
    expect(await h.mfa.completeEmailRecovery('alice', r.token)).toEqual({ ok: false, reason: 'cancelled' });
    expect((await h.mfa.status('alice')).state).toBe('enabled');
  });

  it('refuses a wrong token (invalid_token), and a token of another user', async () => {
    const h = new Harness();
    await h.enroll('alice');
    await h.enroll('bob');
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    const bobs = ok(await h.mfa.requestEmailRecovery('bob'));
    h.clock.set(r.notBefore);
    expect(await h.mfa.completeEmailRecovery('alice', randomBytes(32).toString('base64url'))).toEqual({ ok: false, reason: 'invalid_token' });
    expect(await h.mfa.completeEmailRecovery('alice', bobs.token)).toEqual({ ok: false, reason: 'invalid_token' });
    expect(await h.mfa.completeEmailRecovery('alice', flipChar(r.token, 0, r.token[0] === 'A' ? 'B' : 'A'))).toEqual({ ok: false, reason: 'invalid_token' });
    ok(await h.mfa.completeEmailRecovery('alice', r.token));
  });

  it('replaces the old token with a new request (the old one is invalid_token; the wait restarts)', async () => {
    const h = new Harness();
    await h.enroll('alice');
    const first = ok(await h.mfa.requestEmailRecovery('alice'));
    h.clock.advance(HOUR);
    const second = ok(await h.mfa.requestEmailRecovery('alice'));
    expect(second.notBefore).toBe(first.notBefore + HOUR);
    expect(h.eventsOf('email_recovery.cancelled').at(-1)).toMatchObject({ cause: 'superseded' });
    h.clock.set(first.notBefore);
    expect(await h.mfa.completeEmailRecovery('alice', first.token)).toEqual({ ok: false, reason: 'invalid_token' });
    expect(await h.mfa.completeEmailRecovery('alice', second.token)).toEqual({ ok: false, reason: 'too_early' });
    h.clock.set(second.notBefore);
    expect(await h.mfa.completeEmailRecovery('alice', first.token)).toEqual({ ok: false, reason: 'invalid_token' });
    ok(await h.mfa.completeEmailRecovery('alice', second.token));
  });

  it('on completion: the user is registered, codes and secret are gone, failure counts reset, old challenges die', async () => {
    const h = new Harness({ challengeTtlMs: DAY, recovery: { emailDelayMs: HOUR } });
    const u = await h.enroll('alice');
    const old = await h.challenge('alice');
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    await failLogin(h, 'alice', u.secret);
    expect((await h.record('alice'))!.failures).toBe(1);
    h.clock.set(r.notBefore);
    ok(await h.mfa.completeEmailRecovery('alice', r.token));
    expect(await h.mfa.status('alice')).toEqual({ state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] });
    expect(await h.codes.countUnused('alice')).toBe(0);
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
    const record = (await h.record('alice'))!;
    expect(record).toMatchObject({ factors: [], pendingTotp: null, recoveryCodeSet: null, unrevealedCodes: null, emailRecovery: null, failures: 0, failuresSinceSuccess: 0 });
    expect(await h.mfa.completeEmailRecovery('alice', r.token)).toEqual({ ok: false, reason: 'not_requested' });
    expect(await h.mfa.verifyLogin(old, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    const again = await h.enroll('alice');
    expect(again.secret).not.toBe(u.secret);
    expect(await h.login('alice', { recoveryCode: u.codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('emits an event at every step', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    let mark = h.events.length;
    const first = ok(await h.mfa.requestEmailRecovery('alice'));
    expect(h.events.slice(mark)).toEqual([{ type: 'email_recovery.requested', userId: 'alice', at: h.now, notBefore: first.notBefore, expiresAt: first.expiresAt }]);
    mark = h.events.length;
    ok(await h.mfa.requestEmailRecovery('alice'));
    expect(h.typesSince(mark)).toEqual(['email_recovery.cancelled', 'email_recovery.requested']);
    mark = h.events.length;
    ok(await h.mfa.cancelEmailRecovery('alice'));
    expect(h.events.slice(mark)).toEqual([{ type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'manual' }]);
    ok(await h.mfa.requestEmailRecovery('alice'));
    mark = h.events.length;
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    expect(h.typesSince(mark)).toEqual(['login.succeeded', 'email_recovery.cancelled']);
    expect(await h.completeEmailRecovery('alice')).toEqual([{ type: 'email_recovery.completed', userId: 'alice', at: h.now }]);
  });

  it('needs an enabled second factor', async () => {
    const h = new Harness();
    expect(await h.mfa.requestEmailRecovery('alice')).toEqual({ ok: false, reason: 'not_enrolled' });
    ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    expect(await h.mfa.requestEmailRecovery('alice')).toEqual({ ok: false, reason: 'not_enrolled' });
  });
});

// ---------------------------------------------------------------------------

describe('Pending enrollment: expires, never satisfies a login, needs a valid code; disable removes the factor', () => {
  it('expires after enrollmentTtlMs (default 10 min)', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    expect(begun.expiresAt).toBe(h.now + 10 * MINUTE);
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'enrolling', enrollmentExpiresAt: begun.expiresAt });
    h.clock.set(begun.expiresAt);
    expect(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now))).toEqual({ ok: false, reason: 'expired' });
    expect((await h.mfa.status('alice')).state).toBe('registered');
    // Just before expiry it still works.
    const again = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    h.clock.set(again.expiresAt - 1);
    ok(await h.mfa.confirmEnrollment('alice', codeAt(again.secret, h.now)));
  });

  it('a pending secret never satisfies a login: startLogin says MFA is not required while enrolling', async () => {
    const h = new Harness();
    ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
    expect(await h.mfa.disable('alice', { totp: '123456' })).toEqual({ ok: false, reason: 'not_enrolled' });
    expect(await h.mfa.regenerateRecoveryCodes('alice', { totp: '123456' })).toEqual({ ok: false, reason: 'not_enrolled' });
    expect(await h.mfa.revealRecoveryCodes('alice')).toEqual({ ok: false, reason: 'not_enrolled' });
  });

  it('cannot replace the secret of an enabled user (already_enabled)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    expect(await h.mfa.beginEnrollment('alice', { accountName: 'alice' })).toEqual({ ok: false, reason: 'already_enabled' });
    expect(await h.mfa.confirmEnrollment('alice', h.freshCode(u.secret))).toEqual({ ok: false, reason: 'already_enabled' });
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
  });

  it('confirms only with a valid code of the pending secret (invalid_code otherwise)', async () => {
    const h = new Harness();
    expect(await h.mfa.confirmEnrollment('alice', '123456')).toEqual({ ok: false, reason: 'not_enrolling' });
    const first = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    expect(await h.mfa.confirmEnrollment('alice', wrongCodeAt(first.secret, h.now))).toEqual({ ok: false, reason: 'invalid_code' });
    expect((await h.mfa.status('alice')).state).toBe('enrolling');
    // Restarting replaces the pending secret.
    const second = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice', restart: true }));
    expect(second.secret).not.toBe(first.secret);
    expect(await h.mfa.confirmEnrollment('alice', codeAt(first.secret, h.now))).toEqual({ ok: false, reason: 'invalid_code' });
    ok(await h.mfa.confirmEnrollment('alice', codeAt(second.secret, h.now)));
    expect((await h.mfa.status('alice')).state).toBe('enabled');
  });

  for (const method of ['totp', 'recoveryCode'] as const) {
    it(`disable (${method}) leaves the user registered with secret, replay state and codes gone`, async () => {
      const h = new Harness();
      const u = await h.enroll('alice');
      const proof = method === 'totp' ? { totp: h.freshCode(u.secret) } : { recoveryCode: u.codes[0]! };
      expect(await h.mfa.disable('alice', proof)).toEqual({ ok: true, method: method === 'totp' ? 'totp' : 'recovery_code' });
      expect(await h.mfa.status('alice')).toEqual({ state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] });
      expect(await h.record('alice')).toMatchObject({ factors: [], pendingTotp: null, recoveryCodeSet: null, unrevealedCodes: null });
      expect(await h.codes.countUnused('alice')).toBe(0);
      expect(await h.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
      expect(await h.mfa.disable('alice', { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'not_enrolled' });

      const again = await h.enroll('alice');
      expect(again.secret).not.toBe(u.secret);
      for (const old of u.codes.slice(1, 4)) expect(await h.login('alice', { recoveryCode: old })).toMatchObject({ ok: false, reason: 'invalid_code' });
      expect(await h.login('alice', { totp: h.freshCode(u.secret) })).toMatchObject({ ok: false, reason: 'invalid_code' });
      ok(await h.login('alice', { totp: codeAt(again.secret, h.now) }));
    });
  }
});

describe('A live pending enrollment is shown again, not replaced (issue 14.1)', () => {
  it('after a wrong code, beginEnrollment shows the same secret, URI, QR and expiry (resumed), and its code confirms', async () => {
    const h = new Harness();
    const first = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    expect(first.resumed).toBeUndefined();
    expect(await h.mfa.confirmEnrollment('alice', wrongCodeAt(first.secret, h.now))).toMatchObject({ ok: false, reason: 'invalid_code' });
    h.clock.advance(MINUTE);
    const again = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    expect(again).toEqual({ ...first, resumed: true });
    expect(h.eventsOf('enrollment.started')).toHaveLength(1);
    ok(await h.mfa.confirmEnrollment('alice', codeAt(first.secret, h.now)));
  });

  it('an expired one is replaced by a new secret; restart: true replaces a live one', async () => {
    const h = new Harness();
    const first = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    h.clock.set(first.expiresAt);
    const fresh = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    expect(fresh.secret).not.toBe(first.secret);
    expect(fresh.resumed).toBeUndefined();
    const restarted = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice', restart: true }));
    expect(restarted.secret).not.toBe(fresh.secret);
  });

  it('never shown again to an enabled user without a proof', async () => {
    const h = new Harness({ webauthn: webauthn(RP) });
    const key = new SoftAuthenticator('ES256');
    const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice' }));
    ok(await h.mfa.finishWebAuthnRegistration('alice', key.register({ challenge: begun.options.challenge, origin: RP.origins[0]!, rpId: RP.rpId, counter: 0 })));
    const codes = ok(await h.mfa.revealRecoveryCodes('alice')).codes;
    const pending = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice', proof: { recoveryCode: codes[0]! } }));
    expect(await h.mfa.beginEnrollment('alice', { accountName: 'alice' })).toEqual({ ok: false, reason: 'proof_required' });
    const shown = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice', proof: { recoveryCode: codes[1]! } }));
    expect(shown).toEqual({ ...pending, resumed: true });
  });
});
