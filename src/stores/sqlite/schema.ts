import { MfaError } from '../../errors.ts';
import { assertDatabase, checkConnection, immediate, TRANSACTION_SQL, type SqliteDatabase, type SqliteStatement } from './database.ts';

/** Options of the SQLite stores, of {@link migrate} and of {@link migrationSql}. */
export interface SqliteStoreOptions {
  /**
   * Prefix of twofold's table names (`<prefix>users`,
   * `<prefix>recovery_code_sets`, `<prefix>recovery_codes`). Default
   * `'twofold_'`. 1 to 32 lowercase letters, digits and `_`, not starting
   * with a digit or `sqlite_`: the name becomes part of the SQL text, so
   * nothing else is accepted.
   */
  tablePrefix?: string;
}

const DEFAULT_PREFIX = 'twofold_';
const PREFIX = /^[a-z_][a-z0-9_]{0,31}$/;

/** The quoted names of twofold's three tables. */
export interface TableNames {
  users: string;
  sets: string;
  codes: string;
}

/**
 * The validated table names, quoted as identifiers: the only names ever
 * interpolated into twofold's SQL (every value is a parameter).
 *
 * @throws {MfaError} `invalid_option` for an invalid prefix.
 */
export function tableNames(options: SqliteStoreOptions | undefined, caller: string): TableNames {
  const prefix = options?.tablePrefix === undefined ? DEFAULT_PREFIX : options.tablePrefix;
  if (typeof prefix !== 'string' || !PREFIX.test(prefix) || prefix.startsWith('sqlite_')) {
    throw new MfaError(
      'invalid_option',
      `${caller}: option \`tablePrefix\` must be 1 to 32 lowercase letters, digits or _, not starting with a digit or sqlite_`,
    );
  }
  return { users: `"${prefix}users"`, sets: `"${prefix}recovery_code_sets"`, codes: `"${prefix}recovery_codes"` };
}

/** The CREATE statements of {@link migrationSql}, each with the comment above it. */
function schema(t: TableNames): Array<{ comment: string; sql: string }> {
  return [
    {
      comment: `-- One MFA record per user. user_key is SHA-256 of the UTF-8 user id (32 bytes), so any id
-- (NULs, 10 KB) keys a row. record is the JSON text of the record, exactly as written.
-- version counts writes from 1; each write is a compare-and-set on it. user_id is the id
-- itself (its UTF-8 bytes), written with every record so that a maintenance walk
-- (UserStore.scan) can name each user; NULL in rows written before twofold kept it.
-- Tables created before user_id existed: migrate() adds it; by hand, once:
-- ALTER TABLE ${t.users} ADD COLUMN user_id BLOB;`,
      sql: `CREATE TABLE IF NOT EXISTS ${t.users} (
  user_key BLOB NOT NULL PRIMARY KEY CHECK (length(user_key) = 32),
  record TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  user_id BLOB
) STRICT, WITHOUT ROWID;`,
    },
    {
      comment: `-- The generation of each user's recovery-code set: a replace applies only if its
-- generation is greater. A row may have no codes (an empty set).`,
      sql: `CREATE TABLE IF NOT EXISTS ${t.sets} (
  user_key BLOB NOT NULL PRIMARY KEY CHECK (length(user_key) = 32),
  generation INTEGER NOT NULL CHECK (generation >= 0)
) STRICT, WITHOUT ROWID;`,
    },
    {
      comment: `-- The codes of the set, one row each, in the order given: hash is the 32-byte SHA-256 or
-- HMAC-SHA256, unused while used_at (ms since epoch) is NULL. A replace rewrites the
-- user's rows and set row in one transaction.`,
      sql: `CREATE TABLE IF NOT EXISTS ${t.codes} (
  user_key BLOB NOT NULL CHECK (length(user_key) = 32),
  position INTEGER NOT NULL CHECK (position >= 0),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  used_at INTEGER,
  PRIMARY KEY (user_key, position)
) STRICT, WITHOUT ROWID;`,
    },
  ];
}

/**
 * The SQL that creates twofold's tables with prefix `tablePrefix` (default
 * `'twofold_'`), for teams that run their own migrations; `sql/sqlite.sql`
 * in the package is `migrationSql('twofold_')`. Every statement is
 * `IF NOT EXISTS`, so it can run again. It holds no transaction statements:
 * run it in one transaction (`BEGIN IMMEDIATE` … `COMMIT`, or your migration
 * tool's), as {@link migrate} does. The tables are STRICT, which needs
 * SQLite 3.37 or later (better-sqlite3 11 and 12 bundle newer).
 *
 * @throws {MfaError} `invalid_option` for an invalid prefix.
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { migrationSql } from 'twofold/adapters/sqlite';
 *
 * writeFileSync('migrations/0042_twofold.sql', migrationSql('auth_'));
 * ```
 */
export function migrationSql(tablePrefix = DEFAULT_PREFIX): string {
  const t = tableNames({ tablePrefix }, 'migrationSql');
  const body = schema(t)
    .map(({ comment, sql }) => `${comment}\n${sql}\n`)
    .join('\n');
  return `-- twofold: the tables of the SQLite adapter (twofold/adapters/sqlite), table prefix ${JSON.stringify(tablePrefix)}.
-- migrationSql(${JSON.stringify(tablePrefix)}) returns this text; migrate() runs the same statements in one
-- BEGIN IMMEDIATE transaction, so processes that migrate at the same time take turns.
-- Every statement is idempotent. STRICT tables need SQLite 3.37 or later.
-- The stores also need the database file in WAL mode (PRAGMA journal_mode = WAL, kept in
-- the file) and a busy timeout on every connection (PRAGMA busy_timeout = 5000).

${body}`;
}

/**
 * Creates twofold's tables if they do not exist yet. Idempotent, and safe
 * when several processes start at once: the statements of
 * {@link migrationSql} run in one `BEGIN IMMEDIATE` transaction, so one
 * process creates the tables while the others wait (up to the busy timeout)
 * and then find them. Checks the connection as the stores do (WAL mode and
 * a busy timeout for a database file) and changes no pragma.
 *
 * @throws {MfaError} `invalid_option` for an invalid prefix or connection;
 *   SQLite errors propagate unchanged.
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { migrate, SqliteRecoveryCodeStore, SqliteUserStore } from 'twofold/adapters/sqlite';
 *
 * const db = new Database('mfa.db'); // busy timeout: 5000 ms by default
 * db.pragma('journal_mode = WAL');
 * await migrate(db);
 * const users = new SqliteUserStore(db);
 * const recoveryCodes = new SqliteRecoveryCodeStore(db);
 * ```
 */
export async function migrate(db: SqliteDatabase, options: SqliteStoreOptions = {}): Promise<void> {
  assertDatabase(db, 'migrate');
  const t = tableNames(options, 'migrate');
  checkConnection(db, 'migrate');
  const prepare = (sql: string): SqliteStatement => db.prepare(sql);
  const transaction = { begin: prepare(TRANSACTION_SQL.begin), commit: prepare(TRANSACTION_SQL.commit), rollback: prepare(TRANSACTION_SQL.rollback) };
  immediate(transaction, () => {
    // Prepared inside the transaction: a table another process just created is seen.
    for (const { sql } of schema(t)) prepare(sql).run();
    // A users table created before twofold kept user ids gets the column (SQLite has no ADD COLUMN IF NOT EXISTS).
    const named = prepare(`SELECT count(*) AS n FROM pragma_table_info(${quotedLiteral(t.users)}) WHERE name = 'user_id'`).get() as { n: number | bigint };
    if (Number(named.n) === 0) prepare(`ALTER TABLE ${t.users} ADD COLUMN user_id BLOB`).run();
  });
}

/** A quoted table name (`"twofold_users"`) as an SQL string literal of the bare name. */
function quotedLiteral(quotedName: string): string {
  return `'${quotedName.slice(1, -1)}'`;
}
