/**
 * Records written by 0.1.0 keep working (DESIGN §6.6) in PostgreSQL: the
 * real rows 0.1.0's adapter wrote (test/fixtures/v0.1.0/postgres.json) are
 * inserted into a fresh schema migrated by the CURRENT `migrate`, and read
 * through PostgresUserStore / PostgresRecoveryCodeStore by the current
 * service with the fixture's key and clock. The contracts are shared with
 * memory and Redis (test/support/v010-upgrade.ts); each test gets its own
 * schema. Skips when PostgreSQL is not running, except under CI=true.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MfaService } from 'twofold';
import { PostgresRecoveryCodeStore, PostgresUserStore } from 'twofold/adapters/postgres';
import { codeAt } from '../service/fixtures.ts';
import { postgresSkipReason } from '../support/services.ts';
import { dumpPostgres, loadV010Fixture, restorePostgres } from '../support/v010-fixtures.ts';
import { upgradeContracts, type RestoredStores } from '../support/v010-upgrade.ts';
import { createPool, freshSchemaName } from './postgres-stores.ts';

const skip = await postgresSkipReason();
const fixture = loadV010Fixture('postgres');

describe.skipIf(skip)('PostgreSQL: 0.1.0 records', () => {
  let pool: pg.Pool;
  const schemas: string[] = [];

  beforeAll(() => {
    pool = createPool({ max: 4 });
  });

  afterAll(async () => {
    try {
      for (const schema of schemas) {
        if (!/^twofold_test_[0-9a-f]+$/.test(schema)) throw new Error(`refusing to drop schema ${schema}`);
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
    } finally {
      await pool?.end();
    }
  });

  async function restore(): Promise<RestoredStores & { schema: string }> {
    const schema = freshSchemaName();
    schemas.push(schema);
    await restorePostgres(pool, schema, fixture);
    return {
      schema,
      users: new PostgresUserStore(pool, { schema }),
      recoveryCodes: new PostgresRecoveryCodeStore(pool, { schema }),
      raw: async (userId) => {
        const key = createHash('sha256').update(userId, 'utf8').digest();
        const { rows } = await pool.query(`SELECT record, version::text AS version FROM "${schema}".twofold_users WHERE user_key = $1`, [key]);
        const row = rows[0] as { record: string; version: string } | undefined;
        return row ? { json: row.record, version: Number(row.version) } : null;
      },
    };
  }

  it('the restored schema holds the rows 0.1.0 wrote, byte for byte', async () => {
    const { schema } = await restore();
    const dump = await dumpPostgres(pool, schema);
    expect(dump.twofold_users).toEqual(fixture.postgres.twofold_users);
    expect(dump.twofold_recovery_codes).toEqual(fixture.postgres.twofold_recovery_codes);
  });

  upgradeContracts({ fixture, restore });

  it("a change rewrites only that user's row: every other row and code set stays 0.1.0's, byte for byte", async () => {
    const { schema, users, recoveryCodes } = await restore();
    const mfa = new MfaService({ issuer: fixture.serviceOptions.issuer, secretKey: `hex:${fixture.rootKey}`, users, recoveryCodes, now: () => fixture.now });
    const alice = fixture.users.alice;
    const started = await mfa.startLogin(alice.userId);
    if (!started.ok || !started.mfaRequired) throw new Error(JSON.stringify(started));
    expect(await mfa.verifyLogin(started.challenge, { totp: codeAt(alice.secret!, fixture.now) })).toMatchObject({ ok: true });
    const dump = await dumpPostgres(pool, schema);
    const aliceRow = dump.twofold_users.find((row) => row.user_key === alice.userKeyHex)!;
    const oldRow = fixture.postgres.twofold_users.find((row) => row.user_key === alice.userKeyHex)!;
    expect(JSON.parse(aliceRow.record)).toMatchObject({ schema: 2 });
    expect(aliceRow.version).toBe(String(Number(oldRow.version) + 1));
    expect(dump.twofold_users.filter((row) => row !== aliceRow)).toEqual(fixture.postgres.twofold_users.filter((row) => row !== oldRow));
    // A TOTP login touches no code set.
    expect(dump.twofold_recovery_codes).toEqual(fixture.postgres.twofold_recovery_codes);
  });
});
