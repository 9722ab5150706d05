import { MfaError } from '../../errors.ts';

/**
 * What the MySQL adapter needs of a database client: `execute(sql, values)`
 * (server-side prepared statements) or, failing that, `query(sql, values)`,
 * with `?` placeholders, resolving to mysql2's `[result, fields]` pair: rows
 * as objects keyed by column name for a `SELECT`, a header with
 * `affectedRows` for a write. A `mysql2/promise` `Pool` fits (recommended:
 * every statement the adapter sends is atomic on its own, so any pooled
 * connection will do), so does a `mysql2/promise` `Connection`, and so does
 * anything with the same methods: the adapter never loads `mysql2`.
 *
 * Leave the pool's row shape at mysql2's defaults (no `rowsAsArray`,
 * `nestTables` or `typeCast` that changes strings or buffers). Its
 * `charset` does not matter (keys and records travel as hex and are read
 * back as bytes), nor do `flags` (with or without `FOUND_ROWS`),
 * `supportBigNumbers`, `bigNumberStrings` or `namedPlaceholders`. Keep
 * autocommit on (the default) and hand the stores no connection inside an
 * open transaction: each call must be its own transaction.
 *
 * @example
 * ```ts
 * import mysql from 'mysql2/promise';
 * import type { MysqlQueryable } from 'twofold/adapters/mysql';
 *
 * const pool: MysqlQueryable = mysql.createPool({ uri: process.env.DATABASE_URL, connectionLimit: 10 });
 * ```
 */
export type MysqlQueryable =
  | { execute(sql: string, values?: unknown[]): Promise<MysqlResultLike> }
  | { query(sql: string, values?: unknown[]): Promise<MysqlResultLike> };

/** What `execute` / `query` resolve to: mysql2's `[rows or result header, fields]`. */
export type MysqlResultLike = [unknown, ...unknown[]];

/** One statement, run on whatever the client is: `execute` if it has one, else `query`. */
export type Run = (sql: string, values: unknown[]) => Promise<unknown>;

export function runnerOf(db: unknown, caller: string): Run {
  const client = db as { execute?: unknown; query?: unknown; promise?: unknown } | null;
  if (client !== null && typeof client === 'object' && typeof client.promise === 'function') {
    // mysql2's callback API (`mysql2`, not `mysql2/promise`): its methods take callbacks.
    throw new MfaError('invalid_option', `${caller}: expected a mysql2/promise Pool or Connection; for a callback-style mysql2 pool pass pool.promise()`);
  }
  if (typeof client?.execute === 'function') {
    const execute = client.execute as (sql: string, values: unknown[]) => Promise<MysqlResultLike>;
    return async (sql, values) => (await execute.call(client, sql, values))[0];
  }
  if (typeof client?.query === 'function') {
    const query = client.query as (sql: string, values: unknown[]) => Promise<MysqlResultLike>;
    return async (sql, values) => (await query.call(client, sql, values))[0];
  }
  throw new MfaError('invalid_option', `${caller}: expected a mysql2/promise Pool or Connection, or another object with execute(sql, values) or query(sql, values)`);
}

/** The rows of a `SELECT`. */
export function rowsOf(result: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(result)) throw new TypeError('MySQL adapter: a SELECT resolved to no rows array (is rowsAsArray or nestTables set on the pool?)');
  return result as Array<Record<string, unknown>>;
}

/** `affectedRows` of a write. */
export function affectedRowsOf(result: unknown): number {
  const affected = (result as { affectedRows?: unknown } | null)?.affectedRows;
  if (typeof affected !== 'number') throw new TypeError('MySQL adapter: a write resolved to no result header with affectedRows');
  return affected;
}

/** A column the adapter reads as bytes (`CAST(... AS BINARY)`): mysql2 gives a Buffer; a string is taken as is. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  throw new TypeError('MySQL adapter: expected a binary column to arrive as a Buffer');
}

/** MySQL and MariaDB `ER_DUP_ENTRY`: an INSERT met an existing primary key. */
export function isDuplicateKey(error: unknown): boolean {
  const e = error as { errno?: unknown; code?: unknown } | null;
  return e?.errno === 1062 || e?.code === 'ER_DUP_ENTRY';
}
