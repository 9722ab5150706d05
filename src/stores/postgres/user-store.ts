import { MfaError } from '../../errors.ts';
import type { StoredMfaRecord, UserStore, VersionedRecord } from '../types.ts';
import { assertQueryable, type Queryable } from './queryable.ts';
import { quotedSchema, type PostgresStoreOptions } from './schema.ts';
import { userKey } from '../user-key.ts';

/**
 * {@link UserStore} in PostgreSQL, for several app servers sharing one
 * database: table `twofold_users` (create it with {@link migrate}). Every
 * method is one parameterised statement, atomic on its own under READ
 * COMMITTED: a write is `UPDATE … WHERE version = $expected`, so of many
 * servers racing on one user exactly one wins and the others re-read.
 * Records are kept as their JSON text, so what comes back is exactly what
 * was put. Database errors propagate unchanged.
 *
 * @throws {MfaError} `invalid_option` from the constructor for an invalid
 *   schema name or client.
 * @example
 * ```ts
 * import pg from 'pg';
 * import { MfaService } from 'twofold';
 * import { migrate, PostgresRecoveryCodeStore, PostgresUserStore } from 'twofold/adapters/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * pool.on('error', (error) => console.error('PostgreSQL idle client lost', error)); // the pool reconnects
 * await migrate(pool);
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new PostgresUserStore(pool),
 *   recoveryCodes: new PostgresRecoveryCodeStore(pool),
 * });
 * ```
 */
export class PostgresUserStore implements UserStore {
  readonly #db: Queryable;
  readonly #sql: { get: string; create: string; update: string };

  constructor(db: Queryable, options: PostgresStoreOptions = {}) {
    assertQueryable(db, 'PostgresUserStore');
    const table = `${quotedSchema(options, 'PostgresUserStore')}.twofold_users`;
    this.#db = db;
    this.#sql = {
      get: `SELECT record, version FROM ${table} WHERE user_key = $1`,
      create: `INSERT INTO ${table} (user_key, record, version) VALUES ($1, $2, 1) ON CONFLICT (user_key) DO NOTHING RETURNING 1`,
      update: `UPDATE ${table} SET record = $2, version = version + 1 WHERE user_key = $1 AND version = $3 RETURNING 1`,
    };
  }

  async get(userId: string): Promise<VersionedRecord | null> {
    const { rows } = await this.#db.query(this.#sql.get, [userKey(userId)]);
    const row = rows[0];
    if (row === undefined) return null;
    // bigint arrives as a string (or a BigInt, with a custom type parser); versions stay far below 2^53.
    return { record: JSON.parse(row.record as string) as StoredMfaRecord, version: Number(row.version) };
  }

  async put(userId: string, record: StoredMfaRecord, expectedVersion: number | null): Promise<boolean> {
    const key = userKey(userId);
    const json: unknown = JSON.stringify(record);
    if (typeof json !== 'string') throw new MfaError('invalid_argument', 'PostgresUserStore.put: the record must be a JSON object');
    if (expectedVersion === null) {
      return (await this.#db.query(this.#sql.create, [key, json])).rows.length === 1;
    }
    // No stored version can equal anything but a positive safe integer.
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) return false;
    return (await this.#db.query(this.#sql.update, [key, json, expectedVersion])).rows.length === 1;
  }
}
