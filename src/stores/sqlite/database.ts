import { MfaError } from '../../errors.ts';

/** One prepared statement, as {@link SqliteDatabase.prepare} returns it. */
export interface SqliteStatement {
  /** Runs a statement that returns no rows; `changes` is how many rows it inserted, updated or deleted. */
  run(...params: unknown[]): { changes: number | bigint };
  /** The first row of a query, or `undefined`. */
  get(...params: unknown[]): unknown;
}

/**
 * What the SQLite adapter needs of a database connection: `prepare(sql)`
 * returning statements with `run(...params)` and `get(...params)`. A
 * better-sqlite3 `Database` (v11 or v12) fits, and so does anything with the
 * same methods: the adapter never loads better-sqlite3 and never opens a file
 * itself. `open` and `readonly`, when present (better-sqlite3 has both), are
 * checked by the constructors.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import type { SqliteDatabase } from 'twofold/adapters/sqlite';
 *
 * const db = new Database('mfa.db'); // timeout: 5000 ms by default
 * db.pragma('journal_mode = WAL');
 * const connection: SqliteDatabase = db; // what the stores and migrate take
 * ```
 */
export interface SqliteDatabase {
  /** Compiles one SQL statement. */
  prepare(source: string): SqliteStatement;
  /** False once the connection is closed (better-sqlite3). */
  readonly open?: boolean;
  /** True for a connection opened read-only (better-sqlite3). */
  readonly readonly?: boolean;
}

export function assertDatabase(db: unknown, caller: string): asserts db is SqliteDatabase {
  if (typeof (db as SqliteDatabase | null)?.prepare !== 'function') {
    throw new MfaError('invalid_option', `${caller}: expected a better-sqlite3 Database or another object with prepare(sql)`);
  }
}

/** The value of a one-column row such as `PRAGMA journal_mode` returns. */
function single(row: unknown): unknown {
  return typeof row === 'object' && row !== null ? Object.values(row)[0] : undefined;
}

/**
 * Refuses a connection the stores cannot use safely: closed, read-only, or,
 * for a database file, not in WAL mode or without a busy timeout. In-memory
 * and temporary databases (private to their connection) need neither.
 *
 * @throws {MfaError} `invalid_option`, saying what to set.
 */
export function checkConnection(db: SqliteDatabase, caller: string): void {
  if (db.open === false) throw new MfaError('invalid_option', `${caller}: the database connection is closed`);
  if (db.readonly === true) throw new MfaError('invalid_option', `${caller}: the database is open read-only, but twofold writes to it`);
  const main = db.prepare(`SELECT file FROM pragma_database_list WHERE name = 'main'`).get() as { file?: unknown } | undefined;
  // '' for ':memory:' and for a temporary database: one connection, nothing to share.
  if (main === undefined || main.file === '' || main.file === null) return;
  const mode = String(single(db.prepare('PRAGMA journal_mode').get())).toLowerCase();
  if (mode !== 'wal') {
    throw new MfaError(
      'invalid_option',
      `${caller}: the database file must be in WAL mode, but journal_mode is ${mode}: run db.pragma('journal_mode = WAL') once after opening it (the mode is kept in the file)`,
    );
  }
  const timeout = Number(single(db.prepare('PRAGMA busy_timeout').get()));
  if (!(timeout > 0)) {
    throw new MfaError(
      'invalid_option',
      `${caller}: the connection needs a busy timeout, so that processes sharing the file wait for each other's writes instead of failing: open it with new Database(path, { timeout: 5000 }) (better-sqlite3's default) or run db.pragma('busy_timeout = 5000')`,
    );
  }
}

/** Statements prepared on first use (the tables may be created after the store), then reused. */
export function lazyStatements<K extends string>(db: SqliteDatabase, texts: Record<K, string>): () => Record<K, SqliteStatement> {
  let prepared: Record<K, SqliteStatement> | null = null;
  return () => {
    if (prepared === null) {
      const statements = {} as Record<K, SqliteStatement>;
      for (const key of Object.keys(texts) as K[]) statements[key] = db.prepare(texts[key]);
      prepared = statements;
    }
    return prepared;
  };
}

/** The statements of {@link immediate}. */
export const TRANSACTION_SQL = { begin: 'BEGIN IMMEDIATE', commit: 'COMMIT', rollback: 'ROLLBACK' } as const;

/**
 * Runs `body` in one `BEGIN IMMEDIATE` transaction: the write lock is taken
 * first (waiting up to the busy timeout), so no other connection writes in
 * between and the snapshot read inside is never stale. On any error the
 * transaction is rolled back and the error rethrown: all of `body` or none.
 * Not inside a transaction of the host's on the same connection: SQLite
 * refuses the nested BEGIN, which rejects the call.
 */
export function immediate<T>(statements: Record<keyof typeof TRANSACTION_SQL, SqliteStatement>, body: () => T): T {
  statements.begin.run();
  let result: T;
  try {
    result = body();
    statements.commit.run();
  } catch (error) {
    try {
      statements.rollback.run();
    } catch {
      // Already rolled back (SQLite does so itself after some errors), or committed before the error.
    }
    throw error;
  }
  return result;
}

/** True when a run changed exactly one row. */
export function changedOne(result: { changes: number | bigint }): boolean {
  return Number(result.changes) === 1;
}
