/**
 * `twofold/adapters/postgres`: {@link UserStore} and {@link RecoveryCodeStore}
 * in PostgreSQL, for a fleet of app servers sharing one database, where
 * replay protection, recovery-code consumption and lockout must hold across
 * processes. Each store method is one parameterised statement, atomic on its
 * own; no explicit transactions, so any pooled connection serves any call.
 * `pg` is an optional peer dependency: pass a `pg` `Pool` (or anything with
 * its `query(text, values)`); this module never loads `pg` itself.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { MfaService } from 'twofold';
 * import { migrate, PostgresRecoveryCodeStore, PostgresUserStore } from 'twofold/adapters/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 16 });
 * pool.on('error', (error) => console.error('PostgreSQL idle client lost', error)); // the pool reconnects
 * await migrate(pool); // or run sql/postgres.sql with your own migrations
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new PostgresUserStore(pool),
 *   recoveryCodes: new PostgresRecoveryCodeStore(pool),
 * });
 * ```
 *
 * @module twofold/adapters/postgres
 */
import type { RecoveryCodeStore, UserStore } from '../types.ts';

export { PostgresUserStore } from './user-store.ts';
export { PostgresRecoveryCodeStore } from './recovery-code-store.ts';
export { migrate, migrationSql, type PostgresStoreOptions } from './schema.ts';
export type { Queryable, QueryResultLike } from './queryable.ts';
