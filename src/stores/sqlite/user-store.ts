import { MfaError } from '../../errors.ts';
import { checkScanLimit, keyCursor, userIdBytes } from '../scan.ts';
import type { StoredMfaRecord, UserScanPage, UserStore, VersionedRecord } from '../types.ts';
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
 * their JSON text, so what comes back is exactly what was put; the user id
 * is kept beside it (`user_id`, its UTF-8 bytes) for {@link SqliteUserStore.scan}.
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
  readonly #sql: () => Record<'get' | 'create' | 'update' | 'scan', SqliteStatement>;

  constructor(db: SqliteDatabase, options: SqliteStoreOptions = {}) {
    assertDatabase(db, 'SqliteUserStore');
    const { users } = tableNames(options, 'SqliteUserStore');
    checkConnection(db, 'SqliteUserStore');
    this.#sql = lazyStatements(db, {
      get: `SELECT record, version FROM ${users} WHERE user_key = ?`,
      create: `INSERT INTO ${users} (user_key, record, version, user_id) VALUES (?, ?, 1, ?) ON CONFLICT (user_key) DO NOTHING`,
      update: `UPDATE ${users} SET record = ?, version = version + 1, user_id = ? WHERE user_key = ? AND version = ?`,
      // One row for the whole page (statements only need get): [key hex, id hex or null] pairs in key order.
      scan: `SELECT json_group_array(json_array(lower(hex(user_key)), CASE WHEN user_id IS NULL THEN NULL ELSE hex(user_id) END)) AS page
        FROM (SELECT user_key, user_id FROM ${users} WHERE user_key > ? ORDER BY user_key LIMIT ?)`,
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
    if (expectedVersion === null) return changedOne(this.#sql().create.run(key, json, userIdBytes(userId)));
    // No stored version can equal anything but a positive safe integer.
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) return false;
    return changedOne(this.#sql().update.run(json, userIdBytes(userId), key, BigInt(expectedVersion)));
  }

  /**
   * Pages through the rows in the order of their keys (the SHA-256 of the
   * user id), one indexed range query per page; the cursor is the hex of
   * the last key seen, so rows written meanwhile never shift a page. A row
   * last written before twofold kept user ids (its `user_id` is NULL) is
   * counted in `unnamed` until its next write names it.
   */
  async scan(cursor: string | null, limit: number): Promise<UserScanPage> {
    checkScanLimit(limit, 'SqliteUserStore.scan');
    const after = keyCursor(cursor, 'SqliteUserStore.scan') ?? Buffer.alloc(0);
    const row = this.#sql().scan.get(after, limit) as { page: string };
    const rows = (JSON.parse(row.page) as Array<[string, string | null]>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const userIds: string[] = [];
    let unnamed = 0;
    for (const [, id] of rows) {
      if (id === null) unnamed++;
      else userIds.push(Buffer.from(id, 'hex').toString('utf8'));
    }
    const last = rows.at(-1)?.[0];
    return { userIds, cursor: rows.length === limit && last !== undefined ? last : null, ...(unnamed > 0 ? { unnamed } : {}) };
  }
}
