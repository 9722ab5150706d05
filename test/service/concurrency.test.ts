/**
 * Races on one user: the replay rule, single-use recovery codes, single-use
 * challenges and the failure count must hold when requests overlap (here:
 * Promise.all over memory stores, and a few interleavings forced with gates).
 */
import { describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { Proof, RegenerateRecoveryCodesResult, RevealRecoveryCodesResult, VerifyLoginResult } from '../../src/service/results.ts';
import type { MemoryRecoveryCodeStore, RecoveryCodeStore } from '../../src/stores/index.ts';
import { codeAt, Harness, MINUTE, ok, RecordingCodeStore, SECOND, wrongCodeAt } from './fixtures.ts';

type Settled<T> = { value: T } | { error: unknown };

/** Run all, keep every outcome (a thrown error is an outcome too). */
async function settle<T>(tasks: Array<() => Promise<T>>): Promise<Settled<T>[]> {
  return Promise.all(tasks.map(async (task) => {
    try {
      return { value: await task() };
    } catch (error) {
      return { error };
    }
  }));
}

function errorsOf<T>(outcomes: Settled<T>[]): string[] {
  return outcomes.filter((o): o is { error: unknown } => 'error' in o).map((o) => (isMfaError(o.error) ? `MfaError ${o.error.code}` : String(o.error)));
}

function valuesOf<T>(outcomes: Settled<T>[]): T[] {
  return outcomes.filter((o): o is { value: T } => 'value' in o).map((o) => o.value);
}

function tally(results: Array<{ ok: boolean; reason?: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.ok ? 'ok' : r.reason!;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** `count` challenges for alice, started at once. */
function challengesOf(h: Harness, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, () => h.challenge('alice')));
}

/** verifyLogin on every challenge at once (with `proof`, or `proof(i)` for the i-th), on `services` in turn; none may throw. */
async function verifyAll(services: MfaService[], challenges: string[], proof: Proof | ((i: number) => Proof)): Promise<VerifyLoginResult[]> {
  const proofOf = typeof proof === 'function' ? proof : () => proof;
  const outcomes = await settle(challenges.map((c, i) => () => services[i % services.length]!.verifyLogin(c, proofOf(i))));
  expect(errorsOf(outcomes)).toEqual([]);
  return valuesOf(outcomes);
}

/** A promise and its resolver, to hold a store call until the test lets it go. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** A recording memory store whose replace and consume can be intercepted (every argument is forwarded). */
class HookedCodeStore extends RecordingCodeStore {
  onReplace: ((...args: Parameters<RecoveryCodeStore['replace']>) => Promise<void>) | null = null;
  afterConsume: ((userId: string, hash: string, consumed: boolean) => Promise<void>) | null = null;
  override async replace(...args: Parameters<RecoveryCodeStore['replace']>) {
    const hook = this.onReplace;
    if (hook) return hook(...args);
    return super.replace(...args);
  }
  override async consume(...args: Parameters<RecoveryCodeStore['consume']>) {
    const consumed = await super.consume(...args);
    const hook = this.afterConsume;
    if (hook) await hook(args[0], args[1], consumed);
    return consumed;
  }
}

describe('Replay under races: one TOTP code on 50 challenges', () => {
  it('exactly one of 50 parallel logins with the same valid code succeeds (default lockout)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(30 * SECOND);
    const code = codeAt(u.secret, h.now);
    const counts = tally(await verifyAll([h.mfa], await challengesOf(h, 50), { totp: code }));
    expect(counts.ok).toBe(1);
    // The others are replays (which count as failures) until the lock engages.
    expect((counts.replayed ?? 0) + (counts.locked ?? 0)).toBe(49);
    expect(h.eventsOf('login.succeeded')).toHaveLength(1);
  });

  it('exactly one of 50 parallel logins with the same valid code succeeds, the other 49 are replayed (no lock in the way)', async () => {
    const h = new Harness({ lockout: { maxFailures: 100, hardLimit: 100 } });
    const u = await h.enroll('alice');
    h.clock.advance(30 * SECOND);
    const code = codeAt(u.secret, h.now);
    expect(tally(await verifyAll([h.mfa], await challengesOf(h, 50), { totp: code }))).toEqual({ ok: 1, replayed: 49 });
  });

  it('two app servers (two service instances) racing on one code: exactly one success', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const other = h.service();
    h.clock.advance(30 * SECOND);
    const code = codeAt(u.secret, h.now);
    expect(tally(await verifyAll([other, h.mfa], await challengesOf(h, 10), { totp: code })).ok).toBe(1);
  });
});

describe('Recovery codes under races: atomic consume', () => {
  it('exactly one of 50 parallel logins with the same recovery code succeeds, and the count drops by exactly 1', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const results = await verifyAll([h.mfa], await challengesOf(h, 50), { recoveryCode: u.codes[0]! });
    expect(tally(results).ok).toBe(1);
    expect(await h.codes.countUnused('alice')).toBe(9);
    expect(h.eventsOf('recovery_code.used')).toHaveLength(1);
  });

  it('exactly one success with the lockout out of the way, the other 49 are invalid_code', async () => {
    const h = new Harness({ lockout: { maxFailures: 100, hardLimit: 100 } });
    const u = await h.enroll('alice');
    expect(tally(await verifyAll([h.mfa], await challengesOf(h, 50), { recoveryCode: u.codes[0]! }))).toEqual({ ok: 1, invalid_code: 49 });
    expect(await h.codes.countUnused('alice')).toBe(9);
  });

  for (const lockKind of ['failure', 'manual'] as const) {
    it(`a valid recovery code racing with a ${lockKind} lock: the code is never lost and the lock is never erased`, async () => {
      // alice types a valid recovery code; between its consume and its record write,
      // the account is locked (a wrong code with maxFailures 1, or support's lock()).
      // Either order is fine (login then lock, or lock then refusal), but afterwards
      // the account is locked and alice has lost a code only if she logged in.
      const codes = new HookedCodeStore();
      const h = new Harness({ lockout: { maxFailures: 1, hardLimit: 1 } }, { codes: codes as unknown as MemoryRecoveryCodeStore });
      const u = await h.enroll('alice');
      const mine = await h.challenge('alice');
      const theirs = await h.challenge('alice');
      codes.afterConsume = async (_user, _hash, consumed) => {
        if (!consumed) return;
        codes.afterConsume = null;
        if (lockKind === 'manual') ok(await h.mfa.lock('alice', { reason: 'suspicious activity' }));
        else expect(await h.mfa.verifyLogin(theirs, { totp: wrongCodeAt(u.secret, h.now) })).toMatchObject({ reason: 'locked' });
      };
      const result = await h.mfa.verifyLogin(mine, { recoveryCode: u.codes[0]! });
      expect(result.ok || (result.ok === false && result.reason === 'locked')).toBe(true);
      expect(await h.codes.countUnused('alice')).toBe(result.ok ? 9 : 10);
      expect((await h.mfa.status('alice')).state).toBe('locked');
      ok(await h.mfa.unlock('alice'));
      if (!result.ok) ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    });
  }

  it('a recovery code is never lost: 50 different valid codes on ONE challenge cost exactly as many codes as succeed', async () => {
    const h = new Harness({ recovery: { codeCount: 50 } });
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    const results = await verifyAll([h.mfa], u.codes.map(() => challenge), (i) => ({ recoveryCode: u.codes[i]! }));
    const successes = tally(results).ok ?? 0;
    expect(successes).toBe(1);
    expect(await h.codes.countUnused('alice')).toBe(50 - successes);
  });
});

describe('Challenges under races: dead after one success', () => {
  it('at most one of 50 parallel submissions of a valid TOTP code on ONE challenge succeeds', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(30 * SECOND);
    const challenge = await h.challenge('alice');
    const code = codeAt(u.secret, h.now);
    const counts = tally(await verifyAll([h.mfa], Array.from({ length: 50 }, () => challenge), { totp: code }));
    expect(counts.ok).toBe(1);
    expect(h.eventsOf('login.succeeded')).toHaveLength(1);
  });

  it('at most one success when the codes differ (steps -1, 0, +1) on ONE challenge', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(5 * 30 * SECOND);
    const challenge = await h.challenge('alice');
    const codes = [-1, 0, 1].map((d) => codeAt(u.secret, h.now + d * 30 * SECOND));
    const results = await verifyAll([h.mfa], Array.from({ length: 30 }, () => challenge), (i) => ({ totp: codes[i % 3]! }));
    expect(tally(results).ok).toBe(1);
  });
});

describe('Lockout under races: no lost updates', () => {
  it('50 parallel wrong codes engage the lock once, with failures counted consistently (default lockout)', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(MINUTE);
    const challenges = await challengesOf(h, 50);
    const wrong = wrongCodeAt(u.secret, h.now);
    const results = await verifyAll([h.mfa], challenges, { totp: wrong });
    expect(tally(results)).toEqual({ invalid_code: 4, locked: 46 });
    const left = results.flatMap((r) => (r.ok === false && 'attemptsLeft' in r && r.attemptsLeft !== undefined ? [r.attemptsLeft] : []));
    expect(left.sort()).toEqual([1, 2, 3, 4]);
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: h.now + MINUTE });
    expect(h.eventsOf('login.failed')).toHaveLength(5);
    expect(h.eventsOf('account.locked')).toHaveLength(1);
  });

  it('50 parallel failures are counted exactly 50 times (maxFailures 100, hardLimit 100)', async () => {
    const h = new Harness({ lockout: { maxFailures: 100, hardLimit: 100 } });
    const u = await h.enroll('alice');
    h.clock.advance(MINUTE);
    const challenges = await challengesOf(h, 50);
    const wrong = wrongCodeAt(u.secret, h.now);
    const results = await verifyAll([h.mfa], challenges, { totp: wrong });
    // Every failure saw its own count: 99 … 50 attempts left, each exactly once.
    const left = results.map((r) => (r as { attemptsLeft?: number }).attemptsLeft);
    expect(new Set(left).size).toBe(50);
    expect([...left].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 50 }, (_, i) => 50 + i));
    expect(h.eventsOf('login.failed')).toHaveLength(50);
    // And the stored count agrees: the next failure has 49 left.
    expect(await h.mfa.verifyLogin(challenges[0]!, { totp: wrong })).toMatchObject({ reason: 'invalid_code', attemptsLeft: 49 });
  });

  it('failures racing on two service instances are all counted', async () => {
    const h = new Harness({ lockout: { maxFailures: 100, hardLimit: 100 } });
    const other = h.service();
    const u = await h.enroll('alice');
    h.clock.advance(MINUTE);
    const challenges = await challengesOf(h, 10);
    const wrong = wrongCodeAt(u.secret, h.now);
    await verifyAll([other, h.mfa], challenges, { totp: wrong });
    expect(await h.mfa.verifyLogin(challenges[0]!, { totp: wrong })).toMatchObject({ attemptsLeft: 89 });
  });
});

describe('Regenerate and reveal under races: the codes revealed are exactly the codes that work', () => {
  it('parallel regenerations and reveals end consistent', async () => {
    const h = new Harness({ lockout: { maxFailures: 100, hardLimit: 100 } });
    const u = await h.enroll('alice');
    h.clock.advance(5 * 30 * SECOND);
    const proofs = [
      { totp: codeAt(u.secret, h.now - 30 * SECOND) },
      { totp: codeAt(u.secret, h.now) },
      { recoveryCode: u.codes[0]! },
      { recoveryCode: u.codes[1]! },
    ];
    type Outcome =
      | { kind: 'regenerate'; result: RegenerateRecoveryCodesResult }
      | { kind: 'reveal'; result: RevealRecoveryCodesResult };
    const tasks: Array<() => Promise<Outcome>> = [];
    for (const proof of proofs) tasks.push(async () => ({ kind: 'regenerate', result: await h.mfa.regenerateRecoveryCodes('alice', proof) }));
    for (let i = 0; i < 4; i++) tasks.push(async () => ({ kind: 'reveal', result: await h.mfa.revealRecoveryCodes('alice') }));
    const outcomes = await settle(tasks);
    expect(errorsOf(outcomes)).toEqual([]);
    expect(valuesOf(outcomes).filter((o) => o.kind === 'regenerate' && o.result.ok).length).toBeGreaterThan(0);

    // Whatever the interleaving, settle on the final set: reveal it if nobody has.
    const revealed: string[][] = [];
    for (const o of valuesOf(outcomes)) if (o.kind === 'reveal' && o.result.ok) revealed.push(o.result.codes);
    const final = await h.mfa.revealRecoveryCodes('alice');
    if (final.ok) revealed.push(final.codes);
    expect(await h.mfa.revealRecoveryCodes('alice')).toEqual({ ok: false, reason: 'already_revealed' });
    expect((await h.mfa.status('alice')).recoveryCodesRemaining).toBe(10);

    // Exactly one revealed set is live, and every code of it works; every other code is dead.
    const live: string[][] = [];
    for (const set of [u.codes, ...revealed]) {
      if ((await h.login('alice', { recoveryCode: set[9]! })).ok) live.push(set);
    }
    expect(live).toHaveLength(1);
    expect(revealed).toContain(live[0]);
    for (const [i, code] of live[0]!.slice(0, 9).entries()) {
      expect(ok(await h.login('alice', { recoveryCode: code })).recoveryCodesRemaining).toBe(8 - i);
    }
  });

  it('a slow replace of an older set cannot overwrite a newer set (delayed store write)', async () => {
    const codes = new HookedCodeStore();
    const h = new Harness({}, { codes: codes as unknown as MemoryRecoveryCodeStore });
    const u = await h.enroll('alice');
    h.clock.advance(5 * 30 * SECOND);
    // The first regeneration's store write is slow: it lands after everything else.
    const slow = gate();
    codes.onReplace = async (...args) => {
      codes.onReplace = null;
      await slow.wait;
      await codes.inner.replace(...args);
    };
    const first = h.mfa.regenerateRecoveryCodes('alice', { totp: codeAt(u.secret, h.now) });
    // Let the first regeneration commit its record and start its slow replace.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(codes.onReplace).toBeNull();
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: codeAt(u.secret, h.now + 30 * SECOND) }));
    const shown = ok(await h.mfa.revealRecoveryCodes('alice')).codes;
    slow.open();
    ok(await first);
    // The user holds `shown`; they must work.
    expect(await h.mfa.status('alice')).toMatchObject({ recoveryCodesRemaining: 10 });
    ok(await h.login('alice', { recoveryCode: shown[0]! }));
  });
});
