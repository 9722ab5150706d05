import { MfaError } from '../../errors.ts';
import type { RecoveryCodeStore } from '../types.ts';
import {
  assertDatabase,
  changedOne,
  checkConnection,
  immediate,
  lazyStatements,
  TRANSACTION_SQL,
  type SqliteDatabase,
  type SqliteStatement,
} from './database.ts';
import { tableNames, type SqliteStoreOptions } from './schema.ts';
import { userKey } from '../user-key.ts';

const HASH = /^[0-9a-f]{64}$/;

function hashBytes(hash: string): Buffer {
  if (typeof hash !== 'string' || !HASH.test(hash)) {
    throw new MfaError('invalid_argument', 'recovery-code hashes must be 64 lowercase hex characters');
  }
  return Buffer.from(hash, 'hex');
}

type Statements = 'setGeneration' | 'deleteCodes' | 'insertCode' | 'deleteSet' | 'consume' | 'restore' | 'countUnused' | keyof typeof TRANSACTION_SQL;

/**
 * {@link RecoveryCodeStore} in SQLite, over a better-sqlite3 `Database` the
 * host opens: tables `twofold_recovery_code_sets` (a user's generation) and
 * `twofold_recovery_codes` (one row per code, `used_at` NULL while unused);
 * create them with {@link migrate}. `consume` and `restore` are one
 * `UPDATE` each of the first row holding the hash, conditioned on it being
 * unused (used), so `consume` is true exactly once however many callers
 * race, in this process or in others sharing the file. `replace` and
 * `clear` are one `BEGIN IMMEDIATE` transaction each: the generation check,
 * the deletion of the old codes and the insertion of the new ones commit
 * together or not at all, so old and new codes never coexist and no
 * half-written set can be seen.
 *
 * A database file must be in WAL mode with a busy timeout (checked here);
 * past the timeout a call rejects with SQLite's `SQLITE_BUSY` error and
 * nothing was written. SQLite errors propagate unchanged, never as `false`.
 * The statements are prepared on the first call.
 *
 * @throws {MfaError} `invalid_option` from the constructor for an invalid
 *   table prefix or connection; `invalid_argument` for a malformed hash or
 *   generation.
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { MfaService } from 'twofold';
 * import { migrate, SqliteRecoveryCodeStore, SqliteUserStore } from 'twofold/adapters/sqlite';
 *
 * const db = new Database('mfa.db');
 * db.pragma('journal_mode = WAL');
 * await migrate(db);
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new SqliteUserStore(db),
 *   recoveryCodes: new SqliteRecoveryCodeStore(db),
 * });
 * ```
 */
export class SqliteRecoveryCodeStore implements RecoveryCodeStore {
  readonly #sql: () => Record<Statements, SqliteStatement>;

  constructor(db: SqliteDatabase, options: SqliteStoreOptions = {}) {
    assertDatabase(db, 'SqliteRecoveryCodeStore');
    const { sets, codes } = tableNames(options, 'SqliteRecoveryCodeStore');
    checkConnection(db, 'SqliteRecoveryCodeStore');
    // The position of the first code of user ? equal to hash ? (NULL when there is none).
    const first = `(SELECT min(position) FROM ${codes} WHERE user_key = ? AND hash = ?)`;
    this.#sql = lazyStatements(db, {
      ...TRANSACTION_SQL,
      setGeneration: `INSERT INTO ${sets} (user_key, generation) VALUES (?, ?)
        ON CONFLICT (user_key) DO UPDATE SET generation = excluded.generation WHERE ${sets}.generation < excluded.generation`,
      deleteCodes: `DELETE FROM ${codes} WHERE user_key = ?`,
      insertCode: `INSERT INTO ${codes} (user_key, position, hash, used_at) VALUES (?, ?, ?, NULL)`,
      deleteSet: `DELETE FROM ${sets} WHERE user_key = ?`,
      consume: `UPDATE ${codes} SET used_at = ? WHERE user_key = ? AND position = ${first} AND used_at IS NULL`,
      restore: `UPDATE ${codes} SET used_at = NULL WHERE user_key = ? AND position = ${first} AND used_at IS NOT NULL`,
      countUnused: `SELECT count(*) AS unused FROM ${codes} WHERE user_key = ? AND used_at IS NULL`,
    });
  }

  async replace(userId: string, hashes: readonly string[], generation: number): Promise<void> {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new MfaError('invalid_argument', 'generation must be a non-negative safe integer');
    }
    if (!Array.isArray(hashes)) throw new MfaError('invalid_argument', 'hashes must be an array');
    const key = userKey(userId);
    const bytes = hashes.map(hashBytes);
    const sql = this.#sql();
    immediate(sql, () => {
      // Nothing changes unless this generation is newer than the stored one (or none is stored).
      if (!changedOne(sql.setGeneration.run(key, BigInt(generation)))) return;
      sql.deleteCodes.run(key);
      bytes.forEach((hash, position) => sql.insertCode.run(key, position, hash));
    });
  }

  async consume(userId: string, hash: string): Promise<boolean> {
    const key = userKey(userId);
    return changedOne(this.#sql().consume.run(Date.now(), key, key, hashBytes(hash)));
  }

  async restore(userId: string, hash: string): Promise<void> {
    const key = userKey(userId);
    this.#sql().restore.run(key, key, hashBytes(hash));
  }

  async countUnused(userId: string): Promise<number> {
    const row = this.#sql().countUnused.get(userKey(userId)) as { unused: number | bigint } | undefined;
    return row === undefined ? 0 : Number(row.unused);
  }

  async clear(userId: string): Promise<void> {
    const key = userKey(userId);
    const sql = this.#sql();
    immediate(sql, () => {
      sql.deleteCodes.run(key);
      sql.deleteSet.run(key);
    });
  }
}
