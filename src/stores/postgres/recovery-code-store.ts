import { MfaError } from '../../errors.ts';
import type { RecoveryCodeStore } from '../types.ts';
import { assertQueryable, type Queryable } from './queryable.ts';
import { quotedSchema, type PostgresStoreOptions } from './schema.ts';
import { userKey } from '../user-key.ts';

const HASH = /^[0-9a-f]{64}$/;

function checkHash(hash: string): string {
  if (typeof hash !== 'string' || !HASH.test(hash)) {
    throw new MfaError('invalid_argument', 'recovery-code hashes must be 64 lowercase hex characters');
  }
  return hash;
}

/**
 * {@link RecoveryCodeStore} in PostgreSQL: table `twofold_recovery_codes`
 * (create it with {@link migrate}), one row per user holding the whole set
 * (`hashes bytea[]`, `used_at timestamptz[]`, `generation`). Every method is
 * one statement on that row, so under READ COMMITTED the row lock orders
 * racing app servers: `consume` marks a hash used only if it is still
 * unused (true exactly once), and `replace` swaps the whole set in one row
 * write, only for a greater generation, so old and new codes never coexist
 * and no half-written set can be seen. Database errors propagate unchanged.
 *
 * @throws {MfaError} `invalid_option` from the constructor for an invalid
 *   schema name or client; `invalid_argument` for a malformed hash or
 *   generation.
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
export class PostgresRecoveryCodeStore implements RecoveryCodeStore {
  readonly #db: Queryable;
  readonly #sql: { replace: string; consume: string; restore: string; countUnused: string; clear: string };

  constructor(db: Queryable, options: PostgresStoreOptions = {}) {
    assertQueryable(db, 'PostgresRecoveryCodeStore');
    const table = `${quotedSchema(options, 'PostgresRecoveryCodeStore')}.twofold_recovery_codes`;
    // Position of the hash $2 (hex) in the row's set, NULL when absent.
    const position = `array_position(hashes, decode($2, 'hex'))`;
    this.#db = db;
    this.#sql = {
      replace: `INSERT INTO ${table} AS stored (user_key, generation, hashes, used_at)
        SELECT $1::bytea, $2::bigint, incoming.hashes, array_fill(NULL::timestamptz, ARRAY[cardinality(incoming.hashes)])
        FROM (SELECT ARRAY(SELECT decode(hash, 'hex') FROM unnest($3::text[]) WITH ORDINALITY AS h(hash, i) ORDER BY i) AS hashes) AS incoming
        ON CONFLICT (user_key) DO UPDATE SET generation = excluded.generation, hashes = excluded.hashes, used_at = excluded.used_at
        WHERE stored.generation < excluded.generation`,
      consume: `UPDATE ${table} SET used_at[${position}] = now()
        WHERE user_key = $1 AND ${position} IS NOT NULL AND used_at[${position}] IS NULL RETURNING 1`,
      restore: `UPDATE ${table} SET used_at[${position}] = NULL WHERE user_key = $1 AND used_at[${position}] IS NOT NULL`,
      countUnused: `SELECT (SELECT count(*) FROM unnest(used_at) AS used WHERE used IS NULL)::integer AS unused FROM ${table} WHERE user_key = $1`,
      clear: `DELETE FROM ${table} WHERE user_key = $1`,
    };
  }

  async replace(userId: string, hashes: readonly string[], generation: number): Promise<void> {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new MfaError('invalid_argument', 'generation must be a non-negative safe integer');
    }
    if (!Array.isArray(hashes)) throw new MfaError('invalid_argument', 'hashes must be an array');
    const key = userKey(userId);
    await this.#db.query(this.#sql.replace, [key, generation, hashes.map(checkHash)]);
  }

  async consume(userId: string, hash: string): Promise<boolean> {
    const { rows } = await this.#db.query(this.#sql.consume, [userKey(userId), checkHash(hash)]);
    return rows.length === 1;
  }

  async restore(userId: string, hash: string): Promise<void> {
    await this.#db.query(this.#sql.restore, [userKey(userId), checkHash(hash)]);
  }

  async countUnused(userId: string): Promise<number> {
    const { rows } = await this.#db.query(this.#sql.countUnused, [userKey(userId)]);
    return rows[0] === undefined ? 0 : Number(rows[0].unused);
  }

  async clear(userId: string): Promise<void> {
    await this.#db.query(this.#sql.clear, [userKey(userId)]);
  }
}
