import { MfaError } from '../../errors.ts';
import { checkScanLimit, keyCursor, userIdBytes } from '../scan.ts';
import type { StoredMfaRecord, UserScanPage, UserStore, VersionedRecord } from '../types.ts';
import { affectedRowsOf, isDuplicateKey, rowsOf, runnerOf, textOf, type MysqlQueryable, type Run } from './queryable.ts';
import { tablesOf, type MysqlStoreOptions } from './schema.ts';
import { userKeyHex as userKey } from '../user-key.ts';

/**
 * {@link UserStore} in MySQL or MariaDB, for several app servers sharing one
 * database: InnoDB table `twofold_users` (create it with {@link migrate}).
 * Every method is one parameterised statement in autocommit mode, atomic on
 * its own: a write is `UPDATE … WHERE user_key = ? AND version = ?`, which
 * InnoDB evaluates on the latest committed row under its row lock at any
 * isolation level, so of many servers racing on one user exactly one wins
 * (its `version + 1` always changes the row, so `affectedRows` is 1 with or
 * without `CLIENT_FOUND_ROWS`) and the others re-read. A create is a plain
 * `INSERT`; a duplicate key resolves false. Records are kept as their exact
 * JSON text; the user id is kept beside it (`user_id`, its UTF-8 bytes) for
 * {@link MysqlUserStore.scan}. Database errors propagate unchanged: a statement the server
 * aborts (its connection or query killed, a lock wait timeout, a deadlock)
 * is rolled back, so true is only ever reported for a committed write; a
 * connection lost after the commit, before the reply, rejects although the
 * write was made (mysql2 never re-sends it).
 *
 * Reads need READ COMMITTED or stronger (REPEATABLE READ, the default, is
 * fine): every call runs in its own autocommit transaction. Do not hand the
 * store a connection inside an open transaction or with `autocommit=0`.
 *
 * @throws {MfaError} `invalid_option` from the constructor for an invalid
 *   table prefix or client.
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
export class MysqlUserStore implements UserStore {
  readonly #run: Run;
  readonly #sql: { get: string; create: string; update: string; scan: string };

  constructor(db: MysqlQueryable, options: MysqlStoreOptions = {}) {
    this.#run = runnerOf(db, 'MysqlUserStore');
    const table = tablesOf(options, 'MysqlUserStore').users;
    this.#sql = {
      // CAST … AS BINARY: the bytes as stored, whatever the connection's character set.
      get: `SELECT CAST(record AS BINARY) AS record, version FROM ${table} WHERE user_key = UNHEX(?)`,
      create: `INSERT INTO ${table} (user_key, record, version, user_id) VALUES (UNHEX(?), CONVERT(UNHEX(?) USING utf8mb4), 1, UNHEX(?))`,
      update: `UPDATE ${table} SET record = CONVERT(UNHEX(?) USING utf8mb4), version = version + 1, user_id = UNHEX(?) WHERE user_key = UNHEX(?) AND version = ?`,
      // The page size is a validated integer, written into the text: LIMIT ? is not portable across servers and protocols.
      scan: `SELECT LOWER(HEX(user_key)) AS user_key, HEX(user_id) AS user_id FROM ${table} WHERE user_key > UNHEX(?) ORDER BY user_key LIMIT `,
    };
  }

  async get(userId: string): Promise<VersionedRecord | null> {
    const row = rowsOf(await this.#run(this.#sql.get, [userKey(userId)]))[0];
    if (row === undefined) return null;
    // BIGINT arrives as a number (or a string with bigNumberStrings); versions stay far below 2^53.
    return { record: JSON.parse(textOf(row.record)) as StoredMfaRecord, version: Number(row.version) };
  }

  async put(userId: string, record: StoredMfaRecord, expectedVersion: number | null): Promise<boolean> {
    const key = userKey(userId);
    const json: unknown = JSON.stringify(record);
    if (typeof json !== 'string') throw new MfaError('invalid_argument', 'MysqlUserStore.put: the record must be a JSON object');
    // JSON.stringify escapes lone surrogates, so this is well-formed UTF-8.
    const hex = Buffer.from(json, 'utf8').toString('hex');
    const id = userIdBytes(userId).toString('hex');
    if (expectedVersion === null) {
      try {
        return affectedRowsOf(await this.#run(this.#sql.create, [key, hex, id])) === 1;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    }
    // No stored version can equal anything but a positive safe integer.
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) return false;
    return affectedRowsOf(await this.#run(this.#sql.update, [hex, id, key, expectedVersion])) === 1;
  }

  /**
   * Pages through the rows in the order of their keys (the SHA-256 of the
   * user id), one indexed range query per page; the cursor is the hex of
   * the last key seen, so rows written meanwhile never shift a page. A row
   * last written before twofold kept user ids (its `user_id` is NULL) is
   * counted in `unnamed` until its next write names it.
   */
  async scan(cursor: string | null, limit: number): Promise<UserScanPage> {
    checkScanLimit(limit, 'MysqlUserStore.scan');
    const after = keyCursor(cursor, 'MysqlUserStore.scan')?.toString('hex') ?? '';
    const rows = rowsOf(await this.#run(`${this.#sql.scan}${limit}`, [after]));
    const userIds: string[] = [];
    let unnamed = 0;
    for (const row of rows) {
      if (row.user_id === null || row.user_id === undefined) unnamed++;
      else userIds.push(Buffer.from(textOf(row.user_id), 'hex').toString('utf8'));
    }
    const last = rows.at(-1)?.user_key;
    return { userIds, cursor: rows.length === limit && last !== undefined ? textOf(last).toLowerCase() : null, ...(unnamed > 0 ? { unnamed } : {}) };
  }
}
