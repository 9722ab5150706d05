/**
 * Faults on a real SQLite file: a statement that fails before it runs or
 * after it took effect (a connection wrapper injects the error), the write
 * lock held by another connection or process past the busy timeout or for a
 * while, a process killed (SIGKILL) in the middle of a transaction or at a
 * random moment, and a closed connection. The operation rejects with the
 * error, never resolves `false` (or null, or 0) for a write that might have
 * happened; what is stored is the old state or the new one, never a mix; the
 * file stays whole, and the next call works.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { MfaService } from 'twofold';
import { SqliteRecoveryCodeStore, SqliteUserStore } from 'twofold/adapters/sqlite';
import { sampleRecord } from 'twofold/testing';
import { codeAt, ok, SECOND, T0 } from '../service/fixtures.ts';
import { failAt, faulty, freshDatabase, hashesFor, open, removeFiles, runChild, storesOn, type Phase } from './sqlite-stores.ts';

const STEP = 30 * SECOND;
const STORES_MODULE = fileURLToPath(new URL('./sqlite-stores.ts', import.meta.url));
const SQLITE_MODULE = fileURLToPath(new URL('../../src/stores/sqlite/index.ts', import.meta.url));
const INJECTED = /injected fault/;

const hash = (): string => randomBytes(32).toString('hex');

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as Error & { code?: string };
}

afterAll(() => {
  removeFiles();
});

describe('SQLite: faults', () => {
  let db: Database.Database;
  let path: string;
  let users: SqliteUserStore;
  let codes: SqliteRecoveryCodeStore;
  let now = T0;
  let warnings: MockInstance<typeof process.emitWarning>;
  /** The fault of the stores made by {@link failing}; none until a test sets one. */
  let fault: (sql: string, phase: Phase) => void;

  beforeEach(async () => {
    ({ db, path } = await freshDatabase());
    fault = () => undefined;
    const wrapped = faulty(db, (sql, phase) => fault(sql, phase));
    users = new SqliteUserStore(wrapped);
    codes = new SqliteRecoveryCodeStore(wrapped);
    warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    expect(db.inTransaction).toBe(false);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  /** From now on, throw at the `nth` run of a statement matching `pattern`, in `phase`. */
  function failing(pattern: RegExp, phase: Phase, nth = 1): void {
    fault = failAt(pattern, phase, nth);
  }

  function healed(): void {
    fault = () => undefined;
  }

  function service(): MfaService {
    return new MfaService({ issuer: 'Faults', secretKey: `hex:${'44'.repeat(32)}`, users, recoveryCodes: codes, now: () => now });
  }

  function storeWarnings(): number {
    return warnings.mock.calls.filter(([, options]) => (options as { type?: string } | undefined)?.type === 'TwofoldStoreWarning').length;
  }

  async function enroll(mfa: MfaService): Promise<{ userId: string; secret: string; codes: string[] }> {
    const userId = `fault-${hash().slice(0, 12)}`;
    const begun = ok(await mfa.beginEnrollment(userId, { accountName: 'fault@example.com' }));
    ok(await mfa.confirmEnrollment(userId, codeAt(begun.secret, now)));
    const revealed = ok(await mfa.revealRecoveryCodes(userId));
    now += STEP;
    return { userId, secret: begun.secret, codes: revealed.codes };
  }

  async function challenge(mfa: MfaService, userId: string): Promise<string> {
    const started = await mfa.startLogin(userId);
    if (!started.ok || !started.mfaRequired) throw new Error(`startLogin: ${JSON.stringify(started)}`);
    return started.challenge;
  }

  // ---- a statement that fails before it runs, or after it took effect ----

  it('a compare-and-set failing before its UPDATE rejects and writes nothing; failing after it rejects (never false) with the write done', async () => {
    const userId = `cas-${hash()}`;
    expect(await users.put(userId, sampleRecord({ failures: 1 }), null)).toBe(true);
    failing(/^UPDATE .*_users/, 'before');
    expect((await rejection(users.put(userId, sampleRecord({ failures: 2 }), 1))).message).toMatch(INJECTED);
    expect(await users.get(userId)).toEqual({ record: sampleRecord({ failures: 1 }), version: 1 });
    failing(/^UPDATE .*_users/, 'after');
    expect((await rejection(users.put(userId, sampleRecord({ failures: 2 }), 1))).message).toMatch(INJECTED);
    expect(await users.get(userId)).toEqual({ record: sampleRecord({ failures: 2 }), version: 2 });
    healed();
    expect(await users.put(userId, sampleRecord({ failures: 3 }), 1)).toBe(false);
    expect(await users.put(userId, sampleRecord({ failures: 3 }), 2)).toBe(true);
  });

  it('a create failing after its INSERT rejects (never false) with the record created; a second create is false', async () => {
    const userId = `create-${hash()}`;
    failing(/^INSERT INTO .*_users/, 'after');
    expect((await rejection(users.put(userId, sampleRecord(), null))).message).toMatch(INJECTED);
    healed();
    expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
    expect(await users.put(userId, sampleRecord({ failures: 5 }), null)).toBe(false);
  });

  it('a consume failing after its UPDATE rejects (never false) with the code spent; failing before, it spends nothing', async () => {
    const userId = `consume-${hash()}`;
    const set = [hash(), hash()];
    await codes.replace(userId, set, 1);
    failing(/^UPDATE .*_recovery_codes" SET used_at = \?/, 'before');
    expect((await rejection(codes.consume(userId, set[0]!))).message).toMatch(INJECTED);
    healed();
    expect(await codes.countUnused(userId)).toBe(2);
    failing(/^UPDATE .*_recovery_codes" SET used_at = \?/, 'after');
    expect((await rejection(codes.consume(userId, set[0]!))).message).toMatch(INJECTED);
    healed();
    expect(await codes.countUnused(userId)).toBe(1);
    expect(await codes.consume(userId, set[0]!)).toBe(false);
    expect(await codes.consume(userId, set[1]!)).toBe(true);
  });

  it.each<[string, RegExp, Phase, number]>([
    ['the generation check', /^INSERT INTO .*_recovery_code_sets/, 'after', 1],
    ['the deletion of the old codes', /^DELETE FROM .*_recovery_codes"/, 'after', 1],
    ['the second new code', /^INSERT INTO .*_recovery_codes"/, 'before', 2],
    ['the last new code', /^INSERT INTO .*_recovery_codes"/, 'after', 3],
    ['COMMIT', /^COMMIT$/, 'before', 1],
  ])('a replace failing at %s rolls back: the old set stays whole, used codes used; a retry installs the new set whole', async (_, pattern, phase, nth) => {
    const userId = `replace-${hash()}`;
    const old = [hash(), hash(), hash()];
    const fresh = [hash(), hash(), hash()];
    await codes.replace(userId, old, 1);
    expect(await codes.consume(userId, old[0]!)).toBe(true);
    failing(pattern, phase, nth);
    expect((await rejection(codes.replace(userId, fresh, 2))).message).toMatch(INJECTED);
    healed();
    expect(await codes.countUnused(userId)).toBe(2);
    expect(await codes.consume(userId, fresh[1]!)).toBe(false);
    expect(await codes.consume(userId, old[0]!)).toBe(false);
    // The rolled-back replace did not take generation 2.
    await codes.replace(userId, fresh, 2);
    expect(await codes.countUnused(userId)).toBe(3);
    for (const h of old) expect(await codes.consume(userId, h)).toBe(false);
    for (const h of fresh) expect(await codes.consume(userId, h)).toBe(true);
  });

  it('a replace failing after its COMMIT rejects with the new set installed whole', async () => {
    const userId = `replace-committed-${hash()}`;
    const old = [hash(), hash()];
    const fresh = [hash(), hash(), hash()];
    await codes.replace(userId, old, 1);
    failing(/^COMMIT$/, 'after');
    expect((await rejection(codes.replace(userId, fresh, 2))).message).toMatch(INJECTED);
    healed();
    expect(await codes.countUnused(userId)).toBe(3);
    await codes.replace(userId, old, 2);
    for (const h of old) expect(await codes.consume(userId, h)).toBe(false);
    for (const h of fresh) expect(await codes.consume(userId, h)).toBe(true);
  });

  it('a clear failing between its two deletions rolls back: the set and its generation stay', async () => {
    const userId = `clear-${hash()}`;
    const set = [hash(), hash()];
    await codes.replace(userId, set, 5);
    failing(/^DELETE FROM .*_recovery_code_sets/, 'before');
    expect((await rejection(codes.clear(userId))).message).toMatch(INJECTED);
    healed();
    expect(await codes.countUnused(userId)).toBe(2);
    await codes.replace(userId, [hash()], 4);
    expect(await codes.consume(userId, set[1]!)).toBe(true);
    await codes.clear(userId);
    expect(await codes.countUnused(userId)).toBe(0);
  });

  // ---- the same faults under MfaService ----

  it('verifyLogin (TOTP) whose write fails rejects unchanged; the code was not spent and works on the retry', async () => {
    const mfa = service();
    const { userId, secret } = await enroll(mfa);
    const before = await users.get(userId);
    const code = codeAt(secret, now);
    const login = await challenge(mfa, userId);
    failing(/^UPDATE .*_users/, 'before');
    expect((await rejection(mfa.verifyLogin(login, { totp: code }))).message).toMatch(INJECTED);
    healed();
    expect(await users.get(userId)).toEqual(before);
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { totp: code })).toMatchObject({ ok: true, method: 'totp' });
  });

  it('verifyLogin (recovery code) whose write fails rejects; the consumed code is restored, so it still works once', async () => {
    const mfa = service();
    const { userId, codes: plain } = await enroll(mfa);
    const before = await users.get(userId);
    const login = await challenge(mfa, userId);
    failing(/^UPDATE .*_users/, 'before');
    expect((await rejection(mfa.verifyLogin(login, { recoveryCode: plain[0]! }))).message).toMatch(INJECTED);
    healed();
    expect(await users.get(userId)).toEqual(before);
    expect(await codes.countUnused(userId)).toBe(plain.length);
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[0]! })).toMatchObject({
      ok: true,
      recoveryCodesRemaining: plain.length - 1,
    });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('regenerateRecoveryCodes failing at its record write: the old codes stay live and whole', async () => {
    const mfa = service();
    const { userId, secret, codes: plain } = await enroll(mfa);
    failing(/^UPDATE .*_users/, 'before');
    expect((await rejection(mfa.regenerateRecoveryCodes(userId, { totp: codeAt(secret, now) }))).message).toMatch(INJECTED);
    healed();
    expect(await mfa.status(userId)).toMatchObject({ recoveryCodesRemaining: plain.length, recoveryCodesUnrevealed: false });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[1]! })).toMatchObject({ ok: true });
  });

  it('regenerateRecoveryCodes failing inside its replace, after the record write: a warning, the old codes are dead, reveal installs the new set', async () => {
    const mfa = service();
    const { userId, secret, codes: plain } = await enroll(mfa);
    failing(/^INSERT INTO .*_recovery_codes"/, 'before', 4);
    expect(await mfa.regenerateRecoveryCodes(userId, { totp: codeAt(secret, now) })).toEqual({ ok: true, method: 'totp' });
    healed();
    expect(storeWarnings()).toBe(1);
    now += STEP;
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[2]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
    const revealed = ok(await mfa.revealRecoveryCodes(userId));
    expect(await codes.countUnused(userId)).toBe(revealed.codes.length);
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: revealed.codes[0]! })).toMatchObject({
      ok: true,
      recoveryCodesRemaining: revealed.codes.length - 1,
    });
  });

  // ---- the write lock held elsewhere ----

  it('with the write lock held by another connection past the busy timeout, every write rejects with SQLITE_BUSY (never false) and changes nothing; reads go on', async () => {
    const userId = `busy-${hash()}`;
    const set = [hash(), hash()];
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    await codes.replace(userId, set, 1);
    expect(await codes.consume(userId, set[1]!)).toBe(true);
    const impatient = open(path, { timeout: 30 });
    const holder = open(path);
    try {
      const { users: u, recoveryCodes: c } = storesOn(impatient);
      holder.exec('BEGIN IMMEDIATE');
      const writes: Array<[string, () => Promise<unknown>]> = [
        ['create', () => u.put(`${userId}-new`, sampleRecord(), null)],
        ['compare-and-set', () => u.put(userId, sampleRecord({ failures: 9 }), 1)],
        ['consume', () => c.consume(userId, set[0]!)],
        ['restore', () => c.restore(userId, set[1]!)],
        ['replace', () => c.replace(userId, [hash()], 2)],
        ['clear', () => c.clear(userId)],
      ];
      for (const [what, write] of writes) {
        const error = await rejection(write());
        expect(error.code, what).toBe('SQLITE_BUSY');
        expect(impatient.inTransaction, what).toBe(false);
      }
      // WAL: readers never wait for the writer.
      expect(await u.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
      expect(await c.countUnused(userId)).toBe(1);
      holder.exec('ROLLBACK');
      expect(await u.get(`${userId}-new`)).toBeNull();
      expect(await u.put(userId, sampleRecord({ failures: 9 }), 1)).toBe(true);
      expect(await c.consume(userId, set[0]!)).toBe(true);
      expect(await c.consume(userId, set[1]!)).toBe(false);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      impatient.close();
    }
  });

  it('verifyLogin while another connection holds the write lock past the timeout rejects with SQLITE_BUSY, never a wrong answer; the code works after', async () => {
    const mfa = service();
    const { userId, secret, codes: plain } = await enroll(mfa);
    const impatient = open(path, { timeout: 30 });
    const holder = open(path);
    try {
      const other = new MfaService({ issuer: 'Faults', secretKey: `hex:${'44'.repeat(32)}`, ...storesOn(impatient), now: () => now });
      const logins = [await challenge(other, userId), await challenge(other, userId)];
      holder.exec('BEGIN IMMEDIATE');
      expect((await rejection(other.verifyLogin(logins[0]!, { totp: codeAt(secret, now) }))).code).toBe('SQLITE_BUSY');
      expect((await rejection(other.verifyLogin(logins[1]!, { recoveryCode: plain[0]! }))).code).toBe('SQLITE_BUSY');
      holder.exec('ROLLBACK');
      expect(await codes.countUnused(userId)).toBe(plain.length);
      expect(await other.verifyLogin(await challenge(other, userId), { totp: codeAt(secret, now) })).toMatchObject({ ok: true });
      expect(await other.verifyLogin(await challenge(other, userId), { recoveryCode: plain[0]! })).toMatchObject({ ok: true });
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      impatient.close();
    }
  });

  it('a write waits for another process that holds the lock for a while (the busy timeout), then takes effect', async () => {
    const userId = `wait-${hash()}`;
    const set = [hash(), hash()];
    await codes.replace(userId, set, 1);
    const child = runChild(`
      import { open } from ${JSON.stringify(STORES_MODULE)};
      const db = open(${JSON.stringify(path)});
      db.exec('BEGIN IMMEDIATE');
      db.prepare("UPDATE twofold_recovery_code_sets SET generation = generation + 10").run();
      console.log('locked');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
      db.exec('COMMIT');
      db.close();
    `);
    await child.printed('locked');
    // The lock is held right now (a connection that does not wait is refused), and the consume starts in the same tick: it waits.
    const probe = open(path, { timeout: 0 });
    try {
      expect(() => probe.exec('BEGIN IMMEDIATE')).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
      const consumed = codes.consume(userId, set[0]!);
      expect(await consumed).toBe(true);
    } finally {
      probe.close();
    }
    expect(await child.exited).toMatchObject({ code: 0, stderr: '' });
    // The other process's write and ours both stand.
    await codes.replace(userId, [hash()], 10);
    expect(await codes.countUnused(userId)).toBe(1);
    expect(await codes.consume(userId, set[1]!)).toBe(true);
  });

  // ---- processes killed ----

  it.each<[string, string]>([
    ['after deleting the old codes and inserting two new ones', `failAt(/^INSERT INTO .*_recovery_codes"/, 'after', 2, die)`],
    ['while holding the write lock, before its first statement', `failAt(/^INSERT INTO .*_recovery_code_sets/, 'before', 1, die)`],
  ])('a process killed mid-replace (%s) leaves the old set whole, the file whole and the lock free', async (_, hook) => {
    const userId = `killed-${hash()}`;
    const old = hashesFor(4);
    await codes.replace(userId, old, 4);
    expect(await codes.consume(userId, old[0]!)).toBe(true);
    const child = runChild(`
      import { failAt, faulty, hashesFor, open } from ${JSON.stringify(STORES_MODULE)};
      import { SqliteRecoveryCodeStore } from ${JSON.stringify(SQLITE_MODULE)};
      const die = () => { process.kill(process.pid, 'SIGKILL'); return new Error('unreachable'); };
      const store = new SqliteRecoveryCodeStore(faulty(open(${JSON.stringify(path)}), ${hook}));
      await store.replace(${JSON.stringify(userId)}, hashesFor(9), 9);
      console.log('survived');
    `);
    const exit = await child.exited;
    expect(exit).toMatchObject({ signal: 'SIGKILL', stdout: '' });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(await codes.countUnused(userId)).toBe(old.length - 1);
    for (const h of hashesFor(9)) expect(await codes.consume(userId, h)).toBe(false);
    expect(await codes.consume(userId, old[0]!)).toBe(false);
    expect(await codes.consume(userId, old[1]!)).toBe(true);
    // The lock died with the process: a write goes through at once.
    const started = Date.now();
    await codes.replace(userId, hashesFor(9), 9);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await codes.countUnused(userId)).toBe(hashesFor(9).length);
  });

  it('processes killed at random moments while writing records and replacing sets leave each whole and consistent (three kills)', async () => {
    const userId = `random-kill-${hash()}`;
    expect(await users.put(userId, sampleRecord({ failures: 0 }), null)).toBe(true);
    await codes.replace(userId, hashesFor(1), 1);
    for (let kill = 0; kill < 3; kill++) {
      const child = runChild(`
        import { hashesFor, open, storesOn } from ${JSON.stringify(STORES_MODULE)};
        const { users, recoveryCodes } = storesOn(open(${JSON.stringify(path)}));
        const userId = ${JSON.stringify(userId)};
        for (let i = 0; ; i++) {
          const current = await users.get(userId);
          if (!(await users.put(userId, { ...current.record, failures: current.version }, current.version))) throw new Error('lost a race alone');
          const generation = current.version + 1;
          await recoveryCodes.replace(userId, hashesFor(generation), generation);
          if (i === 20) console.log('writing');
        }
      `);
      await child.printed('writing');
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 80)));
      child.kill('SIGKILL');
      expect(await child.exited).toMatchObject({ signal: 'SIGKILL', stderr: '' });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const { record, version } = (await users.get(userId))!;
      expect(record).toEqual(sampleRecord({ failures: version - 1 }));
      // The set is the one of some generation, whole, all unused: the last replace either happened or not.
      const { generation } = db.prepare(`SELECT generation FROM twofold_recovery_code_sets`).get() as { generation: number };
      expect([version - 1, version]).toContain(generation);
      const stored = db.prepare(`SELECT lower(hex(hash)) AS hash, used_at FROM twofold_recovery_codes ORDER BY position`).all();
      expect(stored).toEqual(hashesFor(generation).map((h) => ({ hash: h, used_at: null })));
    }
  });

  it('a closed connection: every call rejects with the driver error, none resolves false, null or 0', async () => {
    const userId = `closed-${hash()}`;
    const set = [hash()];
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    await codes.replace(userId, set, 1);
    const other = open(path);
    const { users: u, recoveryCodes: c } = storesOn(other);
    expect(await u.get(userId)).not.toBeNull();
    other.close();
    const calls: Array<() => Promise<unknown>> = [
      () => u.get(userId),
      () => u.put(userId, sampleRecord(), 1),
      () => u.put(`${userId}-new`, sampleRecord(), null),
      () => c.consume(userId, set[0]!),
      () => c.restore(userId, set[0]!),
      () => c.countUnused(userId),
      () => c.replace(userId, [hash()], 2),
      () => c.clear(userId),
    ];
    for (const call of calls) expect((await rejection(call())).message).toMatch(/not open/);
    expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
    expect(await codes.consume(userId, set[0]!)).toBe(true);
  });
});
