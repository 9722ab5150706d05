/**
 * Hostile input through MfaService over PostgreSQL: user ids built to break
 * escaping, collation and key limits are stored and read back exactly, and
 * SQL in ids or in the schema option never reaches the SQL text.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMfaError, MfaService } from 'twofold';
import { migrate, PostgresRecoveryCodeStore, PostgresUserStore } from 'twofold/adapters/postgres';
import { awkwardUserIds } from 'twofold/testing';
import { postgresSkipReason } from '../support/services.ts';
import { codeAt, ok, SECOND, T0 } from '../service/fixtures.ts';
import { createPool, dropSchema, freshSchemaName, storesOn } from './postgres-stores.ts';

const skip = await postgresSkipReason();
const STEP = 30 * SECOND;

const injections = [
  "'; DROP TABLE twofold_users; --",
  "'); DELETE FROM twofold_recovery_codes; --",
  '"; DROP SCHEMA public CASCADE; --',
  "x' OR '1'='1",
  '$1; TRUNCATE twofold_users',
  "\\'; DROP TABLE twofold_users; --",
  "\u0000'; DROP TABLE twofold_users; --",
];

/** The largest id the service accepts (16,384 UTF-16 units), all astral: 32 KB of UTF-8. */
const LONGEST_ID = '🔐'.repeat(8192);

describe.skipIf(skip)('PostgreSQL: hostile input through MfaService', () => {
  let pool: pg.Pool;
  let schema: string;
  let mfa: MfaService;
  let now = T0;

  beforeAll(async () => {
    pool = createPool();
    schema = freshSchemaName();
    await migrate(pool, { schema });
    mfa = new MfaService({ issuer: 'Input', secretKey: randomBytes(32), ...storesOn(pool, schema), now: () => now });
  });

  afterAll(async () => {
    await dropSchema(pool, schema);
  });

  async function rows(table: string): Promise<number> {
    const { rows } = await pool.query(`SELECT count(*)::integer AS n FROM "${schema}".${table}`);
    return rows[0].n as number;
  }

  async function challenge(userId: string): Promise<string> {
    const started = await mfa.startLogin(userId);
    if (!started.ok || !started.mfaRequired) throw new Error(`startLogin: ${JSON.stringify(started)}`);
    return started.challenge;
  }

  const ids = [...awkwardUserIds, ...injections.filter((id) => !awkwardUserIds.includes(id)), LONGEST_ID];

  it(`${ids.length} awkward user ids (quotes, NULs, unicode, SQL, 10 KB and 16,384-unit ids) enroll, log in and report status, each exactly`, async () => {
    expect(new Set(ids).size).toBe(ids.length);
    const enrolled = new Map<string, { secret: string; codes: string[] }>();
    for (const userId of ids) {
      const begun = ok(await mfa.beginEnrollment(userId, { accountName: 'someone@example.com' }));
      ok(await mfa.confirmEnrollment(userId, codeAt(begun.secret, now)));
      const { codes } = ok(await mfa.revealRecoveryCodes(userId));
      enrolled.set(userId, { secret: begun.secret, codes });
    }
    expect(await rows('twofold_users')).toBe(ids.length);
    expect(await rows('twofold_recovery_codes')).toBe(ids.length);
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
    // Prefixes, truncations and near-misses of stored ids have nothing.
    for (const absent of ['use', 'user\u0000\u0000', LONGEST_ID.slice(0, -2), `${LONGEST_ID.slice(0, -2)}🔑`, "'; DROP TABLE twofold_users; -- "]) {
      expect(await mfa.status(absent)).toMatchObject({ state: 'registered', recoveryCodesRemaining: 0 });
    }
  });

  it('SQL in user ids and account names leaves every table and row intact', async () => {
    const before = { users: await rows('twofold_users'), codes: await rows('twofold_recovery_codes') };
    for (const injection of injections) {
      const userId = `${injection} (2)`;
      ok(await mfa.beginEnrollment(userId, { accountName: injection.replaceAll('\u0000', '') }));
      expect(await mfa.status(userId)).toMatchObject({ state: 'enrolling' });
    }
    expect(await rows('twofold_users')).toBe(before.users + injections.length);
    expect(await rows('twofold_recovery_codes')).toBe(before.codes);
    const { rows: tables } = await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [schema]);
    expect(tables.map((t) => t.table_name)).toEqual(['twofold_recovery_codes', 'twofold_users']);
    const { rows: schemas } = await pool.query(`SELECT count(*)::integer AS n FROM information_schema.schemata WHERE schema_name = 'public'`);
    expect(schemas[0].n).toBe(1);
  });

  it.each(['public; DROP TABLE twofold_users', 'x"; DROP SCHEMA public CASCADE; --', "'; DROP TABLE twofold_users; --", 'Public'])(
    'a schema option %j is refused with MfaError invalid_option before any SQL runs',
    async (bad) => {
      const sent: string[] = [];
      const spy = { query: (text: string, values?: unknown[]) => (sent.push(text), pool.query(text, values)) };
      for (const make of [() => new PostgresUserStore(spy, { schema: bad }), () => new PostgresRecoveryCodeStore(spy, { schema: bad })]) {
        let error: unknown = null;
        try {
          make();
        } catch (caught) {
          error = caught;
        }
        expect(isMfaError(error, 'invalid_option')).toBe(true);
      }
      await expect(migrate(spy, { schema: bad })).rejects.toSatisfy((error) => isMfaError(error, 'invalid_option'));
      expect(sent).toEqual([]);
    },
  );
});
