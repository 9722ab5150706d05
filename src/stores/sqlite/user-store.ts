import { MfaError } from '../../errors.ts';
import type { StoredMfaRecord, UserStore, VersionedRecord } from '../types.ts';
import { assertDatabase, changedOne, checkConnection, lazyStatements, type SqliteDatabase, type SqliteStatement } from './database.ts';
import { tableNames, type SqliteStoreOptions } from './schema.ts';
import { userKey } from '../user-key.ts';

/**
 * {@link UserStore} in SQLite, over a better-sqlite3 `Database` the host
 * opens: table `twofold_users` (create it with {@link migrate}). Every
 * method is one statement, atomic on its own: a write is `UPDATE … WHERE
 * user_key = ? AND version = ?` (or an `INSERT` that does nothing when the
 * user exists), and it counts as written only when it changed the row, so
 * of many callers racing on one user, in this process or in others sharing
 * the file, exactly one wins and the others re-read. Records are kept as
 * their JSON text, so what comes back is exactly what was put.
 *
 * A database file must be in WAL mode with a busy timeout (checked here): a
 * write waits for another process's write up to the timeout; past it, the
 * call rejects with SQLite's `SQLITE_BUSY` error and nothing was written.
 * SQLite errors propagate unchanged, never as `false`. The statements are
 * prepared on the first call, so the store may be made before
 * {@link migrate} runs.
 *
 * @throws {MfaError} `invalid_option` from the constructor for an invalid
 *   table prefix or connection (closed, read-only, not WAL, no busy timeout).
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { MfaService } from 'twofold';
 * import { migrate, SqliteRecoveryCodeStore, SqliteUserStore } from 'twofold/adapters/sqlite';
 *
 * const db = new Database('mfa.db'); // busy timeout: 5000 ms by default
 * db.pragma('journal_mode = WAL');
 * db.pragma('synchronous = FULL'); // a power loss then never undoes a used code or a failure
 * await migrate(db);
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new SqliteUserStore(db),
 *   recoveryCodes: new SqliteRecoveryCodeStore(db),
 * });
 * ```
 */
export class SqliteUserStore implements UserStore {
  readonly #sql: () => Record<'get' | 'create' | 'update', SqliteStatement>;

  constructor(db: SqliteDatabase, options: SqliteStoreOptions = {}) {
    assertDatabase(db, 'SqliteUserStore');
    const { users } = tableNames(options, 'SqliteUserStore');
    checkConnection(db, 'SqliteUserStore');
    this.#sql = lazyStatements(db, {
      get: `SELECT record, version FROM ${users} WHERE user_key = ?`,
      create: `INSERT INTO ${users} (user_key, record, version) VALUES (?, ?, 1) ON CONFLICT (user_key) DO NOTHING`,
      update: `UPDATE ${users} SET record = ?, version = version + 1 WHERE user_key = ? AND version = ?`,
    });
  }

  async get(userId: string): Promise<VersionedRecord | null> {
    const row = this.#sql().get.get(userKey(userId)) as { record: string; version: number | bigint } | undefined;
    if (row === undefined) return null;
    // A BigInt when the host turned on safeIntegers; versions stay far below 2^53.
    return { record: JSON.parse(row.record) as StoredMfaRecord, version: Number(row.version) };
  }

  async put(userId: string, record: StoredMfaRecord, expectedVersion: number | null): Promise<boolean> {
    const key = userKey(userId);
    const json: unknown = JSON.stringify(record);
    if (typeof json !== 'string') throw new MfaError('invalid_argument', 'SqliteUserStore.put: the record must be a JSON object');
    if (expectedVersion === null) return changedOne(this.#sql().create.run(key, json));
    // No stored version can equal anything but a positive safe integer.
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) return false;
    return changedOne(this.#sql().update.run(json, key, BigInt(expectedVersion)));
  }
}
