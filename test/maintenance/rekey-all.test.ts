/**
 * `twofold/maintenance`: rekeyAll walks every user, reports progress with a
 * cursor to resume from, and ends with what still needs each old key; the
 * whole rotation of issue 15 end to end: K1 → K2 → rekeyAll → who still
 * needs K1 → those users are told and regenerate → rekeyAll reports 0 →
 * K1 dropped → every user still logs in.
 */
import { describe, expect, it } from 'vitest';
import { isMfaError, MemoryUserStore, type RekeyResult, type UserStore } from 'twofold';
import { rekeyAll, secretKeyId, type RekeyAllProgress, type RekeyAllReport } from 'twofold/maintenance';
import { createKeyRing } from '../../src/seal.ts';
import { codeAt, Harness, KEY_1, KEY_2, ok, type Enrolled } from '../service/fixtures.ts';

const K1 = secretKeyId(KEY_1);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('secretKeyId', () => {
  it("is the key ring's id of the key, the one sealed values and reports name it by", () => {
    expect(secretKeyId(KEY_1)).toBe(createKeyRing({ secretKey: KEY_1 }).currentKeyId);
    expect(secretKeyId(Buffer.alloc(32, 0x11))).toBe(K1);
    expect(K1).toMatch(/^[0-9a-f]{8}$/);
    expect(secretKeyId(KEY_2)).not.toBe(K1);
  });

  it('refuses a short key like the service does', () => {
    let error: unknown;
    try {
      secretKeyId(new Uint8Array(16));
    } catch (e) {
      error = e;
    }
    expect(isMfaError(error, 'weak_secret_key')).toBe(true);
  });
});

describe('rekeyAll: key rotation end to end (issue 15)', () => {
  it('K1 → K2 → rekeyAll shows who still needs K1 → they are told and regenerate → rekeyAll reports 0 → K1 dropped → everyone still logs in', async () => {
    const h = new Harness({ secretKey: KEY_1 });
    // Under K1: ten users with codes revealed, five who never revealed them, two enrolling, one disabled.
    const revealed: Enrolled[] = [];
    for (let i = 0; i < 10; i++) revealed.push(await h.enroll(`revealed-${i}`));
    const unrevealed: Array<{ userId: string; secret: string }> = [];
    for (let i = 0; i < 5; i++) {
      const userId = `unrevealed-${i}`;
      const begun = ok(await h.mfa.beginEnrollment(userId, { accountName: `${userId}@example.com` }));
      ok(await h.mfa.confirmEnrollment(userId, codeAt(begun.secret, h.now)));
      unrevealed.push({ userId, secret: begun.secret });
    }
    const enrolling: Array<{ userId: string; secret: string }> = [];
    for (let i = 0; i < 2; i++) {
      const userId = `enrolling-${i}`;
      enrolling.push({ userId, secret: ok(await h.mfa.beginEnrollment(userId, { accountName: `${userId}@example.com` })).secret });
    }
    const gone = await h.enroll('disabled');
    ok(await h.mfa.disable('disabled', { totp: h.freshCode(gone.secret) }));

    // Every app server now runs K2 with K1 as a previous key; the operator walks the store.
    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    const progress: RekeyAllProgress[] = [];
    const first = await rekeyAll({ service: rotated, users: h.users, limit: 4, onProgress: (p) => void progress.push(p) });
    expect(first).toEqual({
      users: 18,
      // 15 TOTP secrets, 5 unrevealed sets, 2 pending enrollments.
      resealed: 22,
      needsUser: { recovery_codes: 10, totp: 0 },
      dependsOn: { [K1]: 10 },
      unnamed: 0,
    });
    expect(progress.length).toBe(5);
    expect(progress.at(-1)).toMatchObject({ cursor: null, report: first });
    const told = progress.flatMap((p) => p.needsUser);
    expect(told.map((u) => u.userId).sort()).toEqual(revealed.map((u) => u.userId).sort());
    for (const { needs } of told) expect(needs).toEqual(['recovery_codes']);

    // The ones who must act are told at their next visit, and regenerate; all but one (who never comes back) do.
    const fresh = new Map<string, string[]>();
    h.clock.advance(30_000);
    for (const user of revealed) {
      expect((await rotated.status(user.userId)).attention).toContain('recovery_codes_rekey');
      if (user.userId === 'revealed-9') continue;
      ok(await rotated.regenerateRecoveryCodes(user.userId, { totp: codeAt(user.secret, h.now) }));
      fresh.set(user.userId, ok(await rotated.revealRecoveryCodes(user.userId)).codes);
    }
    const second = await rekeyAll({ service: rotated, users: h.users });
    expect(second).toEqual({ users: 18, resealed: 0, needsUser: { recovery_codes: 1, totp: 0 }, dependsOn: { [K1]: 1 }, unnamed: 0 });
    // revealed-9 uses up their old codes instead of regenerating (or the operator waits them out): then the report says 0.
    for (const code of revealed[9]!.codes) ok(await h.login('revealed-9', { recoveryCode: code }, rotated));
    const third = await rekeyAll({ service: rotated, users: h.users });
    expect(third).toEqual({ users: 18, resealed: 0, needsUser: { recovery_codes: 0, totp: 0 }, dependsOn: {}, unnamed: 0 });

    // The report says 0: K1 is dropped. Every user still logs in, with the app and with a recovery code.
    const k2Only = h.service({ secretKey: KEY_2 });
    h.clock.advance(30_000);
    for (const user of revealed) {
      ok(await h.login(user.userId, { totp: codeAt(user.secret, h.now) }, k2Only));
      if (user.userId === 'revealed-9') {
        expect((await k2Only.status(user.userId)).attention).toContain('recovery_codes_low');
        continue;
      }
      ok(await h.login(user.userId, { recoveryCode: fresh.get(user.userId)![0]! }, k2Only));
    }
    for (const user of unrevealed) {
      ok(await h.login(user.userId, { totp: codeAt(user.secret, h.now) }, k2Only));
      const codes = ok(await k2Only.revealRecoveryCodes(user.userId)).codes;
      ok(await h.login(user.userId, { recoveryCode: codes[0]! }, k2Only));
    }
    for (const user of enrolling) {
      ok(await k2Only.confirmEnrollment(user.userId, codeAt(user.secret, h.now)));
      expect((await k2Only.status(user.userId)).state).toBe('enabled');
    }
    expect((await k2Only.status('disabled')).state).toBe('registered');
    for (const userId of ['revealed-0', 'unrevealed-0', 'enrolling-0']) {
      expect((await k2Only.status(userId)).attention).not.toContain('recovery_codes_rekey');
      expect((await k2Only.status(userId)).attention).not.toContain('totp_reenroll');
    }
  });

  it('a key dropped before the report said 0 is reported too: those users are told, and still log in with what they can', async () => {
    const h = new Harness({ secretKey: KEY_1 });
    const alice = await h.enroll('alice');
    const k2Only = h.service({ secretKey: KEY_2 });
    const report = await rekeyAll({ service: k2Only, users: h.users });
    // The app's secret cannot move without K1, and the codes are dead.
    expect(report).toEqual({ users: 1, resealed: 0, needsUser: { recovery_codes: 1, totp: 1 }, dependsOn: { [K1]: 1 }, unnamed: 0 });
    expect((await k2Only.status('alice')).attention).toEqual(expect.arrayContaining(['totp_reenroll', 'recovery_codes_rekey']));
    h.clock.advance(30_000);
    expect(await h.login('alice', { totp: codeAt(alice.secret, h.now) }, k2Only)).toMatchObject({ ok: false, reason: 'invalid_code' });
    expect(await h.login('alice', { recoveryCode: alice.codes[0]! }, k2Only)).toMatchObject({ ok: false, reason: 'invalid_code' });
  });
});

describe('rekeyAll: walking, progress and resuming', () => {
  /** A memory store holding `count` users with a record under K1. */
  async function populated(count: number): Promise<Harness> {
    const h = new Harness({ secretKey: KEY_1 });
    for (let i = 0; i < count; i++) ok(await h.mfa.beginEnrollment(`user-${i}`, { accountName: 'u@example.com' }));
    return h;
  }

  it('resumes after a crash from the last progress, and the final report covers the whole walk', async () => {
    const h = await populated(10);
    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    let saved: RekeyAllProgress | null = null;
    let calls = 0;
    const crashing = {
      rekey: async (userId: string): Promise<RekeyResult> => {
        if (++calls === 7) throw new Error('the maintenance host went down');
        return rotated.rekey(userId);
      },
    };
    const error = await rejection(rekeyAll({ service: crashing, users: h.users, limit: 3, onProgress: (p) => void (saved = p) }));
    expect(String(error)).toMatch(/went down/);
    expect(saved).toMatchObject({ cursor: expect.any(String), report: { users: 6, resealed: 6 } });
    const resumed = await rekeyAll({ service: rotated, users: h.users, limit: 3, cursor: saved!.cursor, report: saved!.report });
    expect(resumed).toEqual({ users: 10, resealed: 10, needsUser: { recovery_codes: 0, totp: 0 }, dependsOn: {}, unnamed: 0 });
    // Nothing was left behind.
    expect(await rekeyAll({ service: rotated, users: h.users })).toMatchObject({ users: 10, resealed: 0 });
  });

  it("walks the host's own user ids (sync or async iterable) when the store has no scan, in pages of `limit`", async () => {
    const h = await populated(5);
    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    const noScan: UserStore = { get: (id) => h.users.get(id), put: (id, r, v) => h.users.put(id, r, v) };
    expect(String(await rejection(rekeyAll({ service: rotated, users: noScan })))).toMatch(/no scan/);
    const pages: number[] = [];
    async function* ids() {
      for (let i = 0; i < 5; i++) yield `user-${i}`;
      yield 'never-seen';
    }
    const report = await rekeyAll({ service: rotated, userIds: ids(), limit: 2, onProgress: (p) => void pages.push(p.report.users) });
    expect(report).toEqual({ users: 6, resealed: 5, needsUser: { recovery_codes: 0, totp: 0 }, dependsOn: {}, unnamed: 0 });
    expect(pages).toEqual([2, 4, 6]);
    // A user with no record is visited and nothing is written for them.
    expect(await h.users.get('never-seen')).toBeNull();
    expect(await rekeyAll({ service: rotated, userIds: ['user-0'] })).toMatchObject({ users: 1, resealed: 0 });
  });

  it('adds up what a store cannot name (records from before it kept user ids), so the report never reads 0 while they are unvisited', async () => {
    const h = await populated(3);
    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    const partlyNamed: UserStore = {
      get: (id) => h.users.get(id),
      put: (id, r, v) => h.users.put(id, r, v),
      scan: async (cursor) => (cursor === null ? { userIds: ['user-0'], cursor: 'next', unnamed: 2 } : { userIds: ['user-1'], cursor: null, unnamed: 1 }),
    };
    const report: RekeyAllReport = await rekeyAll({ service: rotated, users: partlyNamed });
    expect(report).toMatchObject({ users: 2, unnamed: 3 });
  });

  it('visits and counts a user once when the store scan returns the id again on a later page (Redis, while its table shrinks), or userIds repeat it', async () => {
    const h = await populated(3);
    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    const visits: string[] = [];
    const counting = {
      rekey: async (userId: string): Promise<RekeyResult> => {
        visits.push(userId);
        return rotated.rekey(userId);
      },
    };
    const pages = [['user-0', 'user-1'], ['user-1', 'user-2'], ['user-0']];
    const repeating: UserStore = {
      get: (id) => h.users.get(id),
      put: (id, r, v) => h.users.put(id, r, v),
      scan: async (cursor) => {
        const index = cursor === null ? 0 : Number(cursor);
        return { userIds: pages[index]!, cursor: index + 1 < pages.length ? String(index + 1) : null };
      },
    };
    expect(await rekeyAll({ service: counting, users: repeating, limit: 2 })).toEqual({ users: 3, resealed: 3, needsUser: { recovery_codes: 0, totp: 0 }, dependsOn: {}, unnamed: 0 });
    expect(visits).toEqual(['user-0', 'user-1', 'user-2']);
    visits.length = 0;
    expect(await rekeyAll({ service: counting, userIds: ['user-2', 'user-2', 'user-1', 'user-2'], limit: 2 })).toMatchObject({ users: 2, resealed: 0 });
    expect(visits).toEqual(['user-2', 'user-1']);
  });

  it.each([
    ['no options', undefined],
    ['no service', { users: new MemoryUserStore() }],
    ['neither users nor userIds', { service: { rekey: async () => ({}) } }],
    ['both users and userIds', { service: { rekey: async () => ({}) }, users: new MemoryUserStore(), userIds: [] }],
    ['a cursor with userIds', { service: { rekey: async () => ({}) }, userIds: [], cursor: '3' }],
    ['a page size of 0', { service: { rekey: async () => ({}) }, users: new MemoryUserStore(), limit: 0 }],
    ['a page size of 10,001', { service: { rekey: async () => ({}) }, users: new MemoryUserStore(), limit: 10_001 }],
    ['onProgress not a function', { service: { rekey: async () => ({}) }, users: new MemoryUserStore(), onProgress: 'log' }],
  ])('refuses %s with MfaError invalid_option', async (_, options) => {
    const error = await rejection(rekeyAll(options as never));
    expect(isMfaError(error, 'invalid_option'), String(error)).toBe(true);
  });
});
