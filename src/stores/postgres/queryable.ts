import { MfaError } from '../../errors.ts';

/** One result of {@link Queryable.query}: the rows, as `pg` returns them. */
export interface QueryResultLike {
  /** The rows, as objects keyed by column name. */
  rows: Array<Record<string, unknown>>;
}

/**
 * What the PostgreSQL adapter needs of a database client: `query(text,
 * values)` with `$1`-style parameters, resolving to `{ rows }`. A `pg`
 * `Pool` fits (recommended: every statement the adapter sends is atomic on
 * its own, so any pooled connection will do), so does a `pg` `Client`, and
 * so does anything with the same method: the adapter never loads `pg`.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import type { Queryable } from 'twofold/adapters/postgres';
 *
 * const pool: Queryable = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export interface Queryable {
  /** Runs one statement with `$1`-style parameters `values`. */
  query(text: string, values?: unknown[]): Promise<QueryResultLike>;
}

export function assertQueryable(db: unknown, caller: string): asserts db is Queryable {
  if (typeof (db as Queryable | null)?.query !== 'function') {
    throw new MfaError('invalid_option', `${caller}: expected a pg Pool, a pg Client or another object with query(text, values)`);
  }
}
