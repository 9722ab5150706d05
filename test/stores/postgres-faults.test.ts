/**
 * Faults on a real server: the pool's connection is terminated (or its
 * statement cancelled) while a store statement waits on a row lock, or while
 * the pool sits idle. The operation rejects with the driver's error,
 * nothing half-written is left (old state or new, never a mix), the next
 * call works once the pool has reconnected, and a killed idle client never
 * crashes the process.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { MfaService } from 'twofold';
import { migrate, type PostgresRecoveryCodeStore, type PostgresUserStore } from 'twofold/adapters/postgres';
import { sampleRecord } from 'twofold/testing';
import { postgresSkipReason } from '../support/services.ts';
import { codeAt, ok, SECOND, T0 } from '../service/fixtures.ts';
import { createPool, dropSchema, freshApplicationName, freshSchemaName, storesOn } from './postgres-stores.ts';

const skip = await postgresSkipReason();
const STEP = 30 * SECOND;
/** The driver's error when the server ends the connection (57P01), or the socket closes first. */
const TERMINATED = /terminat/i;

const hash = (): string => randomBytes(32).toString('hex');

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as Error & { code?: string };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.skipIf(skip)('PostgreSQL: connection faults', () => {
  let admin: pg.Pool;
  let schema: string;
  let applicationName: string;
  let pool: pg.Pool;
  let idleErrors: Error[];
  let users: PostgresUserStore;
  let codes: PostgresRecoveryCodeStore;
  let now = T0;
  let warnings: MockInstance<typeof process.emitWarning>;

  beforeAll(async () => {
    admin = createPool({ applicationName: freshApplicationName('admin'), max: 4 });
    schema = freshSchemaName();
    await migrate(admin, { schema });
  });

  afterAll(async () => {
    await dropSchema(admin, schema);
  });

  beforeEach(() => {
    // A fresh pool under test per case, named so that only its connections are killed.
    applicationName = freshApplicationName('fault');
    idleErrors = [];
    pool = createPool({ applicationName, max: 4, onIdleError: (error) => idleErrors.push(error) });
    ({ users, recoveryCodes: codes } = storesOn(pool, schema));
    warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await pool.end();
  });

  function service(): MfaService {
    return new MfaService({ issuer: 'Faults', secretKey: `hex:${'44'.repeat(32)}`, users, recoveryCodes: codes, now: () => now });
  }

  function storeWarnings(): number {
    return warnings.mock.calls.filter(([, options]) => (options as { type?: string } | undefined)?.type === 'TwofoldStoreWarning').length;
  }

  /** Another connection holds the user's row in `table` locked until `release`. */
  async function lockRow(table: 'twofold_users' | 'twofold_recovery_codes', userId: string): Promise<{ release(): Promise<void> }> {
    const client = await admin.connect();
    await client.query('BEGIN');
    const { rowCount } = await client.query(`SELECT 1 FROM "${schema}".${table} WHERE user_key = sha256(convert_to($1, 'UTF8')) FOR UPDATE`, [userId]);
    expect(rowCount).toBe(1);
    return {
      async release() {
        await client.query('ROLLBACK');
        client.release();
      },
    };
  }

  /** Waits until one of the pool's statements is blocked on a row lock, then ends its connection (or cancels it). */
  async function interruptWaiting(how: 'terminate' | 'cancel' = 'terminate'): Promise<number> {
    const pid = await until('a statement of the pool to wait on the lock', async () => {
      const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [applicationName]);
      return rows[0]?.pid as number | undefined;
    });
    const fn = how === 'terminate' ? 'pg_terminate_backend' : 'pg_cancel_backend';
    const { rows } = await admin.query(`SELECT ${fn}($1) AS done`, [pid]);
    expect(rows[0].done).toBe(true);
    return pid;
  }

  /** Run `operation` while `table`'s row of `userId` is locked; interrupt it while it waits. */
  async function interrupted<T>(
    table: 'twofold_users' | 'twofold_recovery_codes',
    userId: string,
    operation: () => Promise<T>,
    how: 'terminate' | 'cancel' = 'terminate',
  ): Promise<Error & { code?: string }> {
    const lock = await lockRow(table, userId);
    try {
      const pending = operation();
      pending.catch(() => undefined);
      await interruptWaiting(how);
      return await rejection(pending);
    } finally {
      await lock.release();
    }
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

  it('a compare-and-set killed mid-statement rejects with the driver error; the old record stays; the next put works', async () => {
    const userId = `cas-${hash()}`;
    expect(await users.put(userId, sampleRecord({ failures: 1 }), null)).toBe(true);
    const error = await interrupted('twofold_users', userId, () => users.put(userId, sampleRecord({ failures: 2 }), 1));
    expect(error.message).toMatch(TERMINATED);
    expect(await users.get(userId)).toEqual({ record: sampleRecord({ failures: 1 }), version: 1 });
    expect(await users.put(userId, sampleRecord({ failures: 2 }), 1)).toBe(true);
    expect(await users.get(userId)).toEqual({ record: sampleRecord({ failures: 2 }), version: 2 });
  });

  it('a replace killed mid-statement leaves the old set whole and unused-as-before; a retry installs the new set whole', async () => {
    const userId = `replace-${hash()}`;
    const old = [hash(), hash(), hash()];
    const fresh = [hash(), hash()];
    await codes.replace(userId, old, 1);
    expect(await codes.consume(userId, old[0]!)).toBe(true);
    const error = await interrupted('twofold_recovery_codes', userId, () => codes.replace(userId, fresh, 2));
    expect(error.message).toMatch(TERMINATED);
    expect(await codes.countUnused(userId)).toBe(2);
    expect(await codes.consume(userId, fresh[0]!)).toBe(false);
    expect(await codes.consume(userId, old[0]!)).toBe(false);
    await codes.replace(userId, fresh, 2);
    expect(await codes.countUnused(userId)).toBe(2);
    for (const h of old) expect(await codes.consume(userId, h)).toBe(false);
    for (const h of fresh) expect(await codes.consume(userId, h)).toBe(true);
  });

  it('a consume killed mid-statement spends nothing; the code is consumable once afterwards', async () => {
    const userId = `consume-${hash()}`;
    const set = [hash(), hash()];
    await codes.replace(userId, set, 1);
    const error = await interrupted('twofold_recovery_codes', userId, () => codes.consume(userId, set[0]!));
    expect(error.message).toMatch(TERMINATED);
    expect(await codes.countUnused(userId)).toBe(2);
    expect(await codes.consume(userId, set[0]!)).toBe(true);
    expect(await codes.consume(userId, set[0]!)).toBe(false);
  });

  it('a statement cancelled mid-way (pg_cancel_backend) rejects with 57014 and changes nothing; the connection goes on', async () => {
    const userId = `cancel-${hash()}`;
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    const error = await interrupted('twofold_users', userId, () => users.put(userId, sampleRecord({ failures: 7 }), 1), 'cancel');
    expect(error.code).toBe('57014');
    expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
    expect(await users.put(userId, sampleRecord({ failures: 7 }), 1)).toBe(true);
  });

  it('verifyLogin (TOTP) whose write is killed rejects unchanged; the code was not spent and works on the retry', async () => {
    const mfa = service();
    const { userId, secret } = await enroll(mfa);
    const before = await users.get(userId);
    const code = codeAt(secret, now);
    const error = await interrupted('twofold_users', userId, () => challenge(mfa, userId).then((c) => mfa.verifyLogin(c, { totp: code })));
    expect(error.message).toMatch(TERMINATED);
    expect(await users.get(userId)).toEqual(before);
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { totp: code })).toMatchObject({ ok: true, method: 'totp' });
  });

  it('verifyLogin (recovery code) whose write is killed rejects; the consumed code is restored, so it still works once', async () => {
    const mfa = service();
    const { userId, codes: plain } = await enroll(mfa);
    const before = await users.get(userId);
    const error = await interrupted('twofold_users', userId, () => challenge(mfa, userId).then((c) => mfa.verifyLogin(c, { recoveryCode: plain[0]! })));
    expect(error.message).toMatch(TERMINATED);
    expect(await users.get(userId)).toEqual(before);
    expect(await codes.countUnused(userId)).toBe(plain.length);
    expect(await mfa.status(userId)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: plain.length });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[0]! })).toMatchObject({
      ok: true,
      recoveryCodesRemaining: plain.length - 1,
    });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('regenerateRecoveryCodes killed at its write: the old codes stay live and whole', async () => {
    const mfa = service();
    const { userId, secret, codes: plain } = await enroll(mfa);
    const error = await interrupted('twofold_users', userId, () => mfa.regenerateRecoveryCodes(userId, { totp: codeAt(secret, now) }));
    expect(error.message).toMatch(TERMINATED);
    expect(await mfa.status(userId)).toMatchObject({ recoveryCodesRemaining: plain.length, recoveryCodesUnrevealed: false });
    expect(await mfa.revealRecoveryCodes(userId)).toEqual({ ok: false, reason: 'already_revealed' });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[1]! })).toMatchObject({ ok: true });
  });

  it('regenerateRecoveryCodes killed at its replace, after the commit: a warning, the old codes are dead, reveal installs the new set', async () => {
    const mfa = service();
    const { userId, secret, codes: plain } = await enroll(mfa);
    const lock = await lockRow('twofold_recovery_codes', userId);
    let result: Awaited<ReturnType<MfaService['regenerateRecoveryCodes']>>;
    try {
      const pending = mfa.regenerateRecoveryCodes(userId, { totp: codeAt(secret, now) });
      await interruptWaiting();
      result = await pending;
    } finally {
      await lock.release();
    }
    expect(result).toEqual({ ok: true, method: 'totp' });
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

  it("idle connections killed between operations: the pool's 'error' events are handled, and the next calls work", async () => {
    const mfa = service();
    const { userId, secret } = await enroll(mfa);
    // Several idle clients in the pool.
    await Promise.all(Array.from({ length: 4 }, () => users.get(userId)));
    const idle = pool.idleCount;
    expect(idle).toBeGreaterThan(0);
    const connected = pool.totalCount;
    const { rows } = await admin.query(`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1`, [applicationName]);
    // Every connection of this pool, and nothing else (the name is unique to it).
    expect(rows.length).toBe(connected);
    await until('the pool to drop its killed clients', async () => pool.totalCount === 0);
    expect(idleErrors.length).toBe(rows.length);
    expect(idleErrors[0]?.message).toMatch(TERMINATED);
    // The pool reconnects on demand.
    expect(await mfa.status(userId)).toMatchObject({ state: 'enabled' });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { totp: codeAt(secret, now) })).toMatchObject({ ok: true });
  });
});
