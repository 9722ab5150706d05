/**
 * Hostile input through MfaService over MySQL (MariaDB): user ids built to
 * break escaping, collation (case, trailing spaces, accents) and key limits
 * are stored and read back exactly, SQL in ids and records never reaches the
 * SQL text, and SQL in the tablePrefix option is refused before any SQL runs.
 */
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMfaError, MfaService } from 'twofold';
import { migrate, MysqlRecoveryCodeStore, MysqlUserStore, type MysqlQueryable } from 'twofold/adapters/mysql';
import { awkwardUserIds, sampleRecord } from 'twofold/testing';
import { mysqlSkipReason } from '../support/services.ts';
import { codeAt, ok, SECOND, T0 } from '../service/fixtures.ts';
import { createPool, dropTablesAndEnd, freshPrefix, storesOn, type TestPool } from './mysql-stores.ts';

const skip = await mysqlSkipReason();
const STEP = 30 * SECOND;

const injections = [
  "'; DROP TABLE twofold_users; --",
  "'); DELETE FROM twofold_recovery_codes; --",
  '`; DROP DATABASE test; --',
  "x' OR '1'='1",
  '?; TRUNCATE twofold_users',
  "\\'; DROP TABLE twofold_users; --",
  "\u0000'; DROP TABLE twofold_users; --",
  "' UNION SELECT 1, 2 -- ",
  '/*!50000 DROP TABLE twofold_users */',
  "0x27; SELECT SLEEP(5); -- ",
  "Ｏ＇Ｂｒｉｅｎ",
  'user\u00A0',
];

/** The largest id the service accepts (16,384 UTF-16 units), all astral: 32 KB of UTF-8. */
const LONGEST_ID = '🔐'.repeat(8192);

describe.skipIf(skip)('MySQL (MariaDB): hostile input through MfaService', () => {
  let pool: TestPool;
  let tablePrefix: string;
  let mfa: MfaService;
  let now = T0;

  beforeAll(async () => {
    pool = createPool();
    tablePrefix = freshPrefix();
    await migrate(pool, { tablePrefix });
    mfa = new MfaService({ issuer: 'Input', secretKey: randomBytes(32), ...storesOn(pool, tablePrefix), now: () => now });
  });

  afterAll(async () => {
    await dropTablesAndEnd(pool, tablePrefix);
  });

  async function rows(table: string): Promise<number> {
    const [result] = await pool.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${tablePrefix}${table}\``);
    return Number(result[0]!.n);
  }

  async function tables(): Promise<string[]> {
    const [result] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ? ORDER BY TABLE_NAME`,
      [`${tablePrefix.replaceAll('_', '\\_')}%`],
    );
    return result.map((row) => row.name as string);
  }

  async function challenge(userId: string): Promise<string> {
    const started = await mfa.startLogin(userId);
    if (!started.ok || !started.mfaRequired) throw new Error(`startLogin: ${JSON.stringify(started)}`);
    return started.challenge;
  }

  const ids = [...awkwardUserIds, ...injections.filter((id) => !awkwardUserIds.includes(id)), LONGEST_ID];

  it(`${ids.length} awkward user ids (quotes, NULs, unicode, SQL, case and trailing-space variants, 10 KB and 16,384-unit ids) enroll, log in and report status, each exactly`, async () => {
    expect(new Set(ids).size).toBe(ids.length);
    const enrolled = new Map<string, { secret: string; codes: string[] }>();
    for (const userId of ids) {
      const begun = ok(await mfa.beginEnrollment(userId, { accountName: 'someone@example.com' }));
      ok(await mfa.confirmEnrollment(userId, codeAt(begun.secret, now)));
      const { codes } = ok(await mfa.revealRecoveryCodes(userId));
      enrolled.set(userId, { secret: begun.secret, codes });
    }
    expect(await rows('users')).toBe(ids.length);
    expect(await rows('recovery_codes')).toBe(ids.length);
    now += STEP;
    for (const [i, userId] of ids.entries()) {
      const { secret, codes } = enrolled.get(userId)!;
      const label = `user id #${i} ${JSON.stringify(userId.slice(0, 30))}`;
      const viaTotp = await mfa.verifyLogin(await challenge(userId), { totp: codeAt(secret, now) });
      expect(viaTotp, label).toMatchObject({ ok: true, method: 'totp' });
      expect(viaTotp.ok && viaTotp.userId === userId, label).toBe(true);
      // Another user's code never opens this account.
      const neighbour = enrolled.get(ids[(i + 1) % ids.length]!)!;
      expect(await mfa.verifyLogin(await challenge(userId), { recoveryCode: neighbour.codes[0]! }), label).toMatchObject({ ok: false, reason: 'invalid_code' });
      const viaCode = await mfa.verifyLogin(await challenge(userId), { recoveryCode: codes[0]! });
      expect(viaCode, label).toMatchObject({ ok: true, method: 'recovery_code', recoveryCodesRemaining: codes.length - 1 });
      expect(viaCode.ok && viaCode.userId === userId, label).toBe(true);
      expect(await mfa.status(userId), label).toMatchObject({ state: 'enabled', recoveryCodesRemaining: codes.length - 1 });
    }
    // Prefixes, truncations, collation-equal and near-miss variants of stored ids have nothing.
    for (const absent of ['use', 'user\u0000\u0000', 'USER ', 'Straße', LONGEST_ID.slice(0, -2), `${LONGEST_ID.slice(0, -2)}🔑`, "'; DROP TABLE twofold_users; -- "]) {
      expect(ids).not.toContain(absent);
      expect(await mfa.status(absent)).toMatchObject({ state: 'registered', recoveryCodesRemaining: 0 });
    }
  });

  it('SQL in user ids, account names and records leaves every table and row intact, and is stored as written', async () => {
    const before = { users: await rows('users'), codes: await rows('recovery_codes') };
    for (const injection of injections) {
      const userId = `${injection} (2)`;
      ok(await mfa.beginEnrollment(userId, { accountName: injection.replaceAll('\u0000', '').trim() }));
      expect(await mfa.status(userId)).toMatchObject({ state: 'enrolling' });
    }
    const users = new MysqlUserStore(pool, { tablePrefix });
    for (const injection of injections) {
      const userId = `${injection} (record)`;
      const record = sampleRecord({ lockReason: injection, accountName: injection, recoveryCodeSet: injection });
      expect(await users.put(userId, record, null)).toBe(true);
      expect(await users.get(userId)).toEqual({ record, version: 1 });
    }
    expect(await rows('users')).toBe(before.users + 2 * injections.length);
    expect(await rows('recovery_codes')).toBe(before.codes);
    expect(await tables()).toEqual([`${tablePrefix}recovery_codes`, `${tablePrefix}users`]);
  });

  it.each(['twofold_; DROP TABLE twofold_users', 'x`; DROP DATABASE test; --', "'; DROP TABLE twofold_users; --", 'Twofold_', 'test.twofold_', 'twofold_users` --'])(
    'a tablePrefix option %j is refused with MfaError invalid_option before any SQL runs',
    async (bad) => {
      const sent: string[] = [];
      const spy: MysqlQueryable = { execute: (sql: string, values?: unknown[]) => (sent.push(sql), pool.execute(sql, values as never)) };
      for (const make of [() => new MysqlUserStore(spy, { tablePrefix: bad }), () => new MysqlRecoveryCodeStore(spy, { tablePrefix: bad })]) {
        let error: unknown = null;
        try {
          make();
        } catch (caught) {
          error = caught;
        }
        expect(isMfaError(error, 'invalid_option')).toBe(true);
      }
      await expect(migrate(spy, { tablePrefix: bad })).rejects.toSatisfy((error) => isMfaError(error, 'invalid_option'));
      expect(sent).toEqual([]);
    },
  );
});
