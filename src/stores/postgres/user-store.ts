import { MfaError } from '../../errors.ts';
import { checkScanLimit, keyCursor, userIdBytes } from '../scan.ts';
import type { StoredMfaRecord, UserScanPage, UserStore, VersionedRecord } from '../types.ts';
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
 * was put; the user id is kept beside it (`user_id`, its UTF-8 bytes) for
 * {@link PostgresUserStore.scan}. Database errors propagate unchanged.
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
  readonly #sql: { get: string; create: string; update: string; scan: string };

  constructor(db: Queryable, options: PostgresStoreOptions = {}) {
    assertQueryable(db, 'PostgresUserStore');
    const table = `${quotedSchema(options, 'PostgresUserStore')}.twofold_users`;
    this.#db = db;
    this.#sql = {
      get: `SELECT record, version FROM ${table} WHERE user_key = $1`,
      create: `INSERT INTO ${table} (user_key, record, version, user_id) VALUES ($1, $2, 1, $3) ON CONFLICT (user_key) DO NOTHING RETURNING 1`,
      update: `UPDATE ${table} SET record = $2, version = version + 1, user_id = $4 WHERE user_key = $1 AND version = $3 RETURNING 1`,
      scan: `SELECT user_key, user_id FROM ${table} WHERE $1::bytea IS NULL OR user_key > $1 ORDER BY user_key LIMIT $2`,
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
      return (await this.#db.query(this.#sql.create, [key, json, userIdBytes(userId)])).rows.length === 1;
    }
    // No stored version can equal anything but a positive safe integer.
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) return false;
    return (await this.#db.query(this.#sql.update, [key, json, expectedVersion, userIdBytes(userId)])).rows.length === 1;
  }

  /**
   * Pages through the rows in the order of their keys (the SHA-256 of the
   * user id), one indexed range query per page; the cursor is the hex of
   * the last key seen, so rows written meanwhile never shift a page. A row
   * last written before twofold kept user ids (its `user_id` is NULL) is
   * counted in `unnamed` until its next write names it.
   */
  async scan(cursor: string | null, limit: number): Promise<UserScanPage> {
    checkScanLimit(limit, 'PostgresUserStore.scan');
    const after = keyCursor(cursor, 'PostgresUserStore.scan');
    const { rows } = await this.#db.query(this.#sql.scan, [after, limit]);
    const userIds: string[] = [];
    let unnamed = 0;
    for (const row of rows) {
      if (row.user_id === null || row.user_id === undefined) unnamed++;
      else userIds.push((row.user_id as Buffer).toString('utf8'));
    }
    const last = rows.at(-1)?.user_key as Buffer | undefined;
    return { userIds, cursor: rows.length === limit && last !== undefined ? last.toString('hex') : null, ...(unnamed > 0 ? { unnamed } : {}) };
  }
}
