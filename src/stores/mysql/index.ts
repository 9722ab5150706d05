/**
 * `twofold/adapters/mysql`: {@link UserStore} and {@link RecoveryCodeStore}
 * in MySQL 8 or MariaDB 10.3 and later (tested on MariaDB 10.11), on InnoDB,
 * for a fleet of app servers sharing one database, where replay protection,
 * recovery-code consumption and lockout must hold across processes. Each
 * store method is one parameterised statement in autocommit mode, atomic on
 * its own under InnoDB's row locks (writes read the latest committed row,
 * whatever the isolation level); no explicit transactions, so any pooled
 * connection serves any call. Reads need READ COMMITTED or stronger
 * (REPEATABLE READ, the default, is fine). `mysql2` is an optional peer
 * dependency: pass a `mysql2/promise` `Pool` (or anything with its
 * `execute(sql, values)` or `query(sql, values)`); this module never loads
 * `mysql2` itself.
 *
 * Durability is the server's: with `innodb_flush_log_at_trx_commit=1` (the
 * default) and, with binary logging on, `sync_binlog=1`, a write the store
 * reported survives a crash. Looser settings can lose the last second or so
 * of writes in a crash, which can make a spent TOTP step or recovery code
 * usable again. Point the pool at the primary, not at a read replica,
 * whose lag would serve stale records.
 *
 * @example
 * ```ts
 * import mysql from 'mysql2/promise';
 * import { MfaService } from 'twofold';
 * import { migrate, MysqlRecoveryCodeStore, MysqlUserStore } from 'twofold/adapters/mysql';
 *
 * const pool = mysql.createPool({ uri: process.env.DATABASE_URL, connectionLimit: 10 });
 * await migrate(pool); // or run sql/mysql.sql with your own migrations
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new MysqlUserStore(pool),
 *   recoveryCodes: new MysqlRecoveryCodeStore(pool),
 * });
 * ```
 *
 * @module twofold/adapters/mysql
 */
import type { RecoveryCodeStore, UserStore } from '../types.ts';

export { MysqlUserStore } from './user-store.ts';
export { MysqlRecoveryCodeStore } from './recovery-code-store.ts';
export { migrate, migrationSql, type MysqlStoreOptions } from './schema.ts';
export type { MysqlQueryable, MysqlResultLike } from './queryable.ts';
