import { MfaError } from '../../errors.ts';
import { runnerOf, rowsOf, type MysqlQueryable, type Run } from './queryable.ts';

/** Options of the MySQL stores and of {@link migrate}. */
export interface MysqlStoreOptions {
  /**
   * Start of the names of twofold's tables (`<prefix>users`,
   * `<prefix>recovery_codes`), in the connection's current database.
   * Default `'twofold_'`. 1 to 50 lowercase letters, digits and `_`, not
   * starting with a digit: the name becomes part of the SQL text, so nothing
   * else is accepted, and lowercase names mean the same table whatever the
   * server's `lower_case_table_names`.
   */
  tablePrefix?: string;
}

const PREFIX = /^[a-z_][a-z0-9_]{0,49}$/;

/** The GET_LOCK name that serialises concurrent migrations (server-wide, so across databases too). */
const MIGRATION_LOCK = 'twofold_migrate';
/** Seconds {@link migrate} waits for another server's migration to finish. */
const MIGRATION_LOCK_TIMEOUT = 60;

/** The two table names, validated and quoted: the only names ever interpolated into twofold's SQL. */
export interface Tables {
  users: string;
  recoveryCodes: string;
}

/**
 * The validated table names of `options`, quoted as identifiers.
 *
 * @throws {MfaError} `invalid_option` for any other prefix.
 */
export function tablesOf(options: MysqlStoreOptions | undefined, caller: string): Tables {
  const prefix = options?.tablePrefix === undefined ? 'twofold_' : options.tablePrefix;
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new MfaError('invalid_option', `${caller}: option \`tablePrefix\` must be 1 to 50 lowercase letters, digits or _, not starting with a digit`);
  }
  return { users: `\`${prefix}users\``, recoveryCodes: `\`${prefix}recovery_codes\`` };
}

/** The CREATE TABLE statements, in order: what {@link migrate} runs and {@link migrationSql} prints. */
function createTables(tables: Tables): Array<{ comment: string; sql: string }> {
  return [
    {
      comment: `-- One MFA record per user. user_key is SHA-256 of the UTF-8 user id, so any id (NULs,
-- case and trailing-space variants, 10 KB) keys a row exactly; in SQL, over a utf8mb4
-- connection: UNHEX(SHA2(user_id, 256)). record is the JSON text of the record as
-- LONGTEXT, byte for byte: the JSON type would normalise it. version counts writes from
-- 1; each write is a compare-and-set on it.`,
      sql: `CREATE TABLE IF NOT EXISTS ${tables.users} (
  user_key BINARY(32) NOT NULL,
  record LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  version BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (user_key),
  CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    },
    {
      comment: `-- One recovery-code set per user, in one row, so replacing a set is one atomic row
-- write. codes holds each hash as 64 lowercase hex characters followed by its state,
-- '-' unused or '+' used, in the order given; no hash can match across two entries.
-- generation orders the replaces: one applies only if its generation is greater.`,
      sql: `CREATE TABLE IF NOT EXISTS ${tables.recoveryCodes} (
  user_key BINARY(32) NOT NULL,
  generation BIGINT UNSIGNED NOT NULL,
  codes MEDIUMBLOB NOT NULL,
  PRIMARY KEY (user_key),
  CHECK (LENGTH(codes) % 65 = 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    },
  ];
}

/** The column {@link addUserIdColumn} adds to the users table. */
const USER_ID_COLUMN = 'user_id BLOB NULL';

/**
 * The users table's `user_id` column, added to tables created before it
 * existed: the id itself (its UTF-8 bytes), written with every record so
 * that a maintenance walk (`UserStore.scan`) can name each user; NULL in rows
 * written before, until their next write. MySQL has no `ADD COLUMN IF NOT
 * EXISTS` (MariaDB has), so the script asks information_schema and runs the
 * ALTER as a prepared statement only when the column is missing.
 */
function addUserIdColumn(tables: Tables): string {
  const name = tables.users.slice(1, -1);
  return `-- The user id itself (its UTF-8 bytes), written with every record so that a maintenance
-- walk (UserStore.scan) can name each user; NULL in rows written before, until their next
-- write. Added only when missing (MySQL has no ADD COLUMN IF NOT EXISTS).
SET @twofold_user_id = IF(
  (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${name}' AND COLUMN_NAME = 'user_id') = 0,
  'ALTER TABLE ${tables.users} ADD COLUMN ${USER_ID_COLUMN}',
  'DO 0');
PREPARE twofold_user_id FROM @twofold_user_id;
EXECUTE twofold_user_id;
DEALLOCATE PREPARE twofold_user_id;
`;
}

/**
 * The SQL that creates twofold's tables (names starting with `tablePrefix`,
 * default `'twofold_'`) in the current database, for teams that run their
 * own migrations; `sql/mysql.sql` in the package is `migrationSql()`. Every
 * statement is `IF NOT EXISTS`, so it can run again, and the script holds
 * the same `GET_LOCK` as {@link migrate} while it runs. Run it in one
 * session (`mysql your_database < sql/mysql.sql`, or your migration tool).
 *
 * @throws {MfaError} `invalid_option` for an invalid prefix.
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { migrationSql } from 'twofold/adapters/mysql';
 *
 * writeFileSync('migrations/0042_twofold.sql', migrationSql('auth_'));
 * ```
 */
export function migrationSql(tablePrefix = 'twofold_'): string {
  const tables = tablesOf({ tablePrefix }, 'migrationSql');
  return `-- twofold: the tables of the MySQL / MariaDB adapter (twofold/adapters/mysql), ${tables.users}
-- and ${tables.recoveryCodes}, in the current database. migrationSql(${JSON.stringify(tablePrefix)})
-- returns this text and migrate() runs the same statements. InnoDB is required (row locks,
-- crash-safe single-statement writes). Every statement is idempotent; the named lock
-- serialises app servers that migrate at the same time.

DO GET_LOCK('${MIGRATION_LOCK}', ${MIGRATION_LOCK_TIMEOUT});

${createTables(tables)
  .map(({ comment, sql }) => `${comment}\n${sql};\n`)
  .join('\n')}
${addUserIdColumn(tables)}
DO RELEASE_LOCK('${MIGRATION_LOCK}');
`;
}

/** The part of a pool {@link migrate} uses: one connection for the lock and the DDL. */
interface ConnectionSource {
  getConnection(): Promise<MysqlQueryable & { release(): void }>;
}

/**
 * Creates twofold's tables in the connection's current database if they do
 * not exist yet, and checks that both are InnoDB. Idempotent, and safe when
 * several app servers start at once: it takes one connection from the pool
 * (or uses the connection it is given) and runs the statements of
 * {@link migrationSql} holding `GET_LOCK('twofold_migrate')`, waiting up to
 * 60 s for another server's migration. DDL commits implicitly: do not call
 * it on a connection inside a transaction.
 *
 * @throws {MfaError} `invalid_option` for an invalid prefix or client.
 * @throws {Error} when the lock is not granted within 60 s, or a table
 *   exists with an engine other than InnoDB; database errors propagate
 *   unchanged.
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
export async function migrate(db: MysqlQueryable, options: MysqlStoreOptions = {}): Promise<void> {
  runnerOf(db, 'migrate');
  const tables = tablesOf(options, 'migrate');
  const source = db as Partial<ConnectionSource>;
  // GET_LOCK belongs to a session: the lock, the DDL and the release must share one connection.
  const connection = typeof source.getConnection === 'function' ? await source.getConnection() : null;
  try {
    await migrateOn(runnerOf(connection ?? db, 'migrate'), tables);
  } finally {
    connection?.release();
  }
}

async function migrateOn(run: Run, tables: Tables): Promise<void> {
  const [granted] = rowsOf(await run('SELECT GET_LOCK(?, ?) AS granted', [MIGRATION_LOCK, MIGRATION_LOCK_TIMEOUT]));
  if (Number(granted?.granted) !== 1) {
    throw new Error(`twofold migrate: another migration held the MySQL lock '${MIGRATION_LOCK}' for more than ${MIGRATION_LOCK_TIMEOUT} s`);
  }
  let failed = true;
  try {
    for (const { sql } of createTables(tables)) await run(sql, []);
    const names = [tables.users, tables.recoveryCodes].map((quoted) => quoted.slice(1, -1));
    const [column] = rowsOf(
      await run('SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?', [names[0], 'user_id']),
    );
    if (Number(column?.n) === 0) await run(`ALTER TABLE ${tables.users} ADD COLUMN ${USER_ID_COLUMN}`, []);
    const engines = rowsOf(
      await run('SELECT TABLE_NAME AS name, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?)', names),
    );
    for (const name of names) {
      const engine = engines.find((row) => row.name === name)?.engine;
      if (typeof engine !== 'string' || engine.toLowerCase() !== 'innodb') {
        throw new Error(`twofold migrate: table ${name} uses the ${String(engine)} engine; the MySQL adapter needs InnoDB`);
      }
    }
    failed = false;
  } finally {
    try {
      await run('SELECT RELEASE_LOCK(?) AS released', [MIGRATION_LOCK]);
    } catch (error) {
      // The session is gone (and its lock with it); report the first error, not this one.
      if (!failed) throw error;
    }
  }
}
