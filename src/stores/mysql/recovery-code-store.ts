import { MfaError } from '../../errors.ts';
import type { RecoveryCodeStore } from '../types.ts';
import { affectedRowsOf, rowsOf, runnerOf, type MysqlQueryable, type Run } from './queryable.ts';
import { tablesOf, type MysqlStoreOptions } from './schema.ts';
import { userKeyHex as userKey } from '../user-key.ts';

const HASH = /^[0-9a-f]{64}$/;

/** State characters after each hash in the `codes` column. */
const UNUSED = '-';
const USED = '+';

function checkHash(hash: string): string {
  if (typeof hash !== 'string' || !HASH.test(hash)) {
    throw new MfaError('invalid_argument', 'recovery-code hashes must be 64 lowercase hex characters');
  }
  return hash;
}

/**
 * {@link RecoveryCodeStore} in MySQL or MariaDB: InnoDB table
 * `twofold_recovery_codes` (create it with {@link migrate}), one row per
 * user holding the whole set and its `generation`. The `codes` column is
 * each hash as 64 hex characters followed by `-` (unused) or `+` (used), so
 * a hash (all hex) can only match at the start of an entry, and
 * `LOCATE(hash, codes)` finds it exactly. Every method is one statement on
 * that row in autocommit mode, so InnoDB's row lock orders racing app
 * servers at any isolation level: `consume` flips the first entry of the
 * hash from `-` to `+` only if it is still `-` (`affectedRows` 1: true,
 * exactly once), and `replace` writes the whole set in one
 * `INSERT … ON DUPLICATE KEY UPDATE`, only for a greater generation, so old
 * and new codes never coexist and no half-written set can be seen. Database
 * errors propagate unchanged; a statement the server aborts is rolled back,
 * so `consume` never reports true for a code it did not spend. Needs READ
 * COMMITTED or stronger and autocommit, like {@link MysqlUserStore}.
 *
 * @throws {MfaError} `invalid_option` from the constructor for an invalid
 *   table prefix or client; `invalid_argument` for a malformed hash or
 *   generation.
 * @example
 * ```ts
 * import mysql from 'mysql2/promise';
 * import { MfaService } from 'twofold';
 * import { migrate, MysqlRecoveryCodeStore, MysqlUserStore } from 'twofold/adapters/mysql';
 *
 * const pool = mysql.createPool({ uri: process.env.DATABASE_URL, connectionLimit: 10 });
 * await migrate(pool);
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new MysqlUserStore(pool),
 *   recoveryCodes: new MysqlRecoveryCodeStore(pool),
 * });
 * ```
 */
export class MysqlRecoveryCodeStore implements RecoveryCodeStore {
  readonly #run: Run;
  readonly #sql: { replace: string; consume: string; restore: string; countUnused: string; clear: string };

  constructor(db: MysqlQueryable, options: MysqlStoreOptions = {}) {
    this.#run = runnerOf(db, 'MysqlRecoveryCodeStore');
    const table = tablesOf(options, 'MysqlRecoveryCodeStore').recoveryCodes;
    // The state character of the first entry of hash ? (a hash is all hex: no match can straddle two entries).
    const state = `SUBSTRING(codes, LOCATE(?, codes) + 64, 1)`;
    const flip = (from: string, to: string) => `UPDATE ${table} SET codes = INSERT(codes, LOCATE(?, codes) + 64, 1, '${to}')
        WHERE user_key = UNHEX(?) AND LOCATE(?, codes) > 0 AND ${state} = '${from}'`;
    this.#sql = {
      // codes is assigned before generation and reads the stored one either way (also under
      // MariaDB's SIMULTANEOUS_ASSIGNMENT); GREATEST does not depend on the order.
      replace: `INSERT INTO ${table} (user_key, generation, codes) VALUES (UNHEX(?), ?, ?)
        ON DUPLICATE KEY UPDATE codes = IF(generation < ?, ?, codes), generation = GREATEST(generation, ?)`,
      consume: flip(UNUSED, USED),
      restore: flip(USED, UNUSED),
      countUnused: `SELECT LENGTH(codes) - LENGTH(REPLACE(codes, '${UNUSED}', '')) AS unused FROM ${table} WHERE user_key = UNHEX(?)`,
      clear: `DELETE FROM ${table} WHERE user_key = UNHEX(?)`,
    };
  }

  async replace(userId: string, hashes: readonly string[], generation: number): Promise<void> {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new MfaError('invalid_argument', 'generation must be a non-negative safe integer');
    }
    if (!Array.isArray(hashes)) throw new MfaError('invalid_argument', 'hashes must be an array');
    const key = userKey(userId);
    const codes = hashes.map((hash) => `${checkHash(hash)}${UNUSED}`).join('');
    await this.#run(this.#sql.replace, [key, generation, codes, generation, codes, generation]);
  }

  async consume(userId: string, hash: string): Promise<boolean> {
    const key = userKey(userId);
    checkHash(hash);
    return affectedRowsOf(await this.#run(this.#sql.consume, [hash, key, hash, hash])) === 1;
  }

  async restore(userId: string, hash: string): Promise<void> {
    const key = userKey(userId);
    checkHash(hash);
    await this.#run(this.#sql.restore, [hash, key, hash, hash]);
  }

  async countUnused(userId: string): Promise<number> {
    const row = rowsOf(await this.#run(this.#sql.countUnused, [userKey(userId)]))[0];
    return row === undefined ? 0 : Number(row.unused);
  }

  async clear(userId: string): Promise<void> {
    await this.#run(this.#sql.clear, [userKey(userId)]);
  }
}
