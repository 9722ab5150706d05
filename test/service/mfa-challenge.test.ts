/**
 * The single-use bookkeeping of challenges (spendChallenge): a spent id
 * outlives its challenge by a challenge lifetime, so servers whose clocks
 * disagree never see a spent challenge come back to life.
 */
import { describe, expect, it } from 'vitest';
import { Harness, MINUTE, ok, SECOND } from './fixtures.ts';

describe('issue 15 point 6: spent challenge ids are kept a challenge lifetime past expiry, for servers with skewed clocks', () => {
  it("a challenge spent on server A, then pruned by a later success on A after it expired, is still refused on server B whose clock is 2 min behind", async () => {
    const h = new Harness();
    const a = h.mfa;
    // Server B: same stores, same key, its clock 2 minutes behind A's.
    const b = h.service({ now: () => h.clock.ms - 2 * MINUTE });
    const u = await h.enroll('alice');

    const { challenge, expiresAt } = (await a.startLogin('alice')) as { challenge: string; expiresAt: number };
    ok(await a.verifyLogin(challenge, { totp: h.freshCode(u.secret) }));

    // Past the challenge's expiry on A's clock, not yet on B's.
    h.clock.set(expiresAt + MINUTE);
    expect(h.now - 2 * MINUTE).toBeLessThan(expiresAt);
    // Another success on A: the moment a record's spent ids are pruned.
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }, a));
    expect(await a.verifyLogin(challenge, { recoveryCode: u.codes[0]! })).toEqual({ ok: false, reason: 'challenge_expired' });

    // B still holds the challenge live; the spent id must still be there to refuse it.
    expect(await b.verifyLogin(challenge, { recoveryCode: u.codes[0]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.codes.countUnused('alice')).toBe(10);
  });

  it('the same holds for a step-up challenge', async () => {
    const h = new Harness();
    const b = h.service({ now: () => h.clock.ms - 2 * MINUTE });
    const u = await h.enroll('alice');
    const started = (await h.mfa.startStepUp('alice')) as { challenge: string; expiresAt: number };
    ok(await h.mfa.verifyStepUp(started.challenge, { totp: h.freshCode(u.secret) }));
    h.clock.set(started.expiresAt + MINUTE);
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    expect(await b.verifyStepUp(started.challenge, { recoveryCode: u.codes[0]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
  });

  it('a spent id is pruned once it has been expired for a challenge lifetime (challengeTtlMs), not before', async () => {
    const ttl = 5 * MINUTE;
    const h = new Harness({ challengeTtlMs: ttl });
    const u = await h.enroll('alice');
    const first = await h.challenge('alice');
    ok(await h.mfa.verifyLogin(first, { totp: h.freshCode(u.secret) }));
    const spentId = (await h.record('alice'))!.spentChallenges.at(-1)!;

    /** A login (with a recovery code: the two are a TOTP step apart) whose success lands at `ms`. */
    let used = 0;
    const loginAt = async (ms: number) => {
      h.clock.set(ms);
      ok(await h.login('alice', { recoveryCode: u.codes[used++]! }));
    };
    await loginAt(spentId.expiresAt + ttl - SECOND);
    expect((await h.record('alice'))!.spentChallenges.map((c) => c.id)).toContain(spentId.id);
    await loginAt(spentId.expiresAt + ttl + SECOND);
    expect((await h.record('alice'))!.spentChallenges.map((c) => c.id)).not.toContain(spentId.id);
  });
});

describe('issue 13: the spent check reads an id only where the expiry matches, and decides on the id', () => {
  it('of challenges issued at the same instant (one expiry), the spent one is refused and the others still work', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const [first, second, third] = [await h.challenge('alice'), await h.challenge('alice'), await h.challenge('alice')];
    // One instant, one expiry: only the ids tell them apart.
    const expiries = new Set([first, second, third].map((c) => c.split('.')[2]));
    expect(expiries.size).toBe(1);
    ok(await h.mfa.verifyLogin(second, { totp: h.freshCode(u.secret) }));
    expect(await h.mfa.verifyLogin(second, { recoveryCode: u.codes[0]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
    ok(await h.mfa.verifyLogin(first, { recoveryCode: u.codes[0]! }));
    ok(await h.mfa.verifyLogin(third, { totp: h.freshCode(u.secret) }));
    expect(await h.mfa.verifyLogin(first, { recoveryCode: u.codes[1]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.mfa.verifyLogin(third, { recoveryCode: u.codes[1]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.codes.countUnused('alice')).toBe(9);
  });

  it('a spent id is refused next to spent ids of other expiries, in any position of the list', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const spent: string[] = [];
    for (let i = 0; i < 6; i++) {
      const challenge = await h.challenge('alice');
      ok(await h.mfa.verifyLogin(challenge, { totp: h.freshCode(u.secret) }));
      spent.push(challenge);
      h.clock.advance(7 * SECOND);
    }
    expect((await h.record('alice'))!.spentChallenges).toHaveLength(6);
    for (const challenge of spent) {
      expect(await h.mfa.verifyLogin(challenge, { recoveryCode: u.codes[0]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
    }
    expect(await h.codes.countUnused('alice')).toBe(10);
  });
});
