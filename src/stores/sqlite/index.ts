/**
 * `twofold/adapters/sqlite`: {@link UserStore} and {@link RecoveryCodeStore}
 * in SQLite, over a better-sqlite3 `Database` the host opens: one app server,
 * or several processes on one machine sharing one database file, where
 * replay protection, recovery-code consumption and lockout must hold across
 * processes. Every store method is one statement, or one `BEGIN IMMEDIATE`
 * transaction (replacing or clearing a set of codes), atomic on its own.
 * `better-sqlite3` (11 or 12) is an optional peer dependency: this module
 * never loads it and never opens a file itself.
 *
 * What the connection needs, checked by the constructors and {@link migrate}
 * (an `MfaError` `invalid_option` says what to set):
 * - WAL mode for a database file (`db.pragma('journal_mode = WAL')`, kept in
 *   the file): readers never block the writer and processes share the file.
 * - A busy timeout on every connection (better-sqlite3 sets 5000 ms unless
 *   told otherwise): a write waits for another process's write instead of
 *   failing at once. Past the timeout the call rejects with `SQLITE_BUSY`
 *   and nothing was written; a write that might have happened never
 *   resolves `false`.
 * In-memory and temporary databases (private to one connection) need neither.
 *
 * Durability: a connection better-sqlite3 opens on a WAL file runs with
 * `synchronous = NORMAL` (its build default), which keeps every commit
 * through a crash of the process but may lose the last ones on a power loss
 * or OS crash (a used code usable again, a failure forgotten). Set
 * `db.pragma('synchronous = FULL')` on every connection to fsync every
 * commit. A killed process never leaves a half-written set or record: SQLite
 * rolls its open transaction back and the OS frees its lock.
 *
 * better-sqlite3 is synchronous: waiting for the lock blocks the event loop
 * of that process for as long as another connection holds it (twofold holds
 * it for one statement or one short transaction). Put the file on a local
 * disk: WAL needs shared memory, so not on a network file system.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { MfaService } from 'twofold';
 * import { migrate, SqliteRecoveryCodeStore, SqliteUserStore } from 'twofold/adapters/sqlite';
 *
 * const db = new Database('mfa.db'); // busy timeout: 5000 ms by default
 * db.pragma('journal_mode = WAL');
 * db.pragma('synchronous = FULL');
 * await migrate(db); // or run sql/sqlite.sql with your own migrations
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new SqliteUserStore(db),
 *   recoveryCodes: new SqliteRecoveryCodeStore(db),
 * });
 * ```
 *
 * @module twofold/adapters/sqlite
 */
import type { RecoveryCodeStore, UserStore } from '../types.ts';

export { SqliteUserStore } from './user-store.ts';
export { SqliteRecoveryCodeStore } from './recovery-code-store.ts';
export { migrate, migrationSql, type SqliteStoreOptions } from './schema.ts';
export type { SqliteDatabase, SqliteStatement } from './database.ts';
