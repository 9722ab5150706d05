import { MfaError } from '../../errors.ts';
import { assertQueryable, type Queryable } from './queryable.ts';

/** Options of the PostgreSQL stores and of {@link migrate}. */
export interface PostgresStoreOptions {
  /**
   * Schema holding twofold's tables (`twofold_users`,
   * `twofold_recovery_codes`). Default `'public'`. 1 to 63 lowercase letters,
   * digits and `_`, not starting with a digit or `pg_`: the name becomes part
   * of the SQL text, so nothing else is accepted.
   */
  schema?: string;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** `pg_advisory_xact_lock` key of the migration: the ASCII bytes of "twofold". */
const MIGRATION_LOCK = '32782417642089572';

/**
 * The validated schema name, quoted as an identifier: the only name ever
 * interpolated into twofold's SQL (every value is a parameter).
 *
 * @throws {MfaError} `invalid_option` for any other name.
 */
export function quotedSchema(options: PostgresStoreOptions | undefined, caller: string): string {
  const schema = options?.schema === undefined ? 'public' : options.schema;
  if (typeof schema !== 'string' || !SCHEMA.test(schema) || schema.startsWith('pg_')) {
    throw new MfaError('invalid_option', `${caller}: option \`schema\` must be 1 to 63 lowercase letters, digits or _, not starting with a digit or pg_`);
  }
  return `"${schema}"`;
}

/**
 * The SQL that creates twofold's tables in `schema` (default `'public'`),
 * for teams that run their own migrations; `sql/postgres.sql` in the package
 * is `migrationSql('public')`. Every statement is `IF NOT EXISTS`, so it can
 * run again; run it as one transaction (`psql --single-transaction`, or your
 * migration tool's), so that its advisory lock serialises concurrent runs.
 *
 * @throws {MfaError} `invalid_option` for an invalid schema name.
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { migrationSql } from 'twofold/adapters/postgres';
 *
 * writeFileSync('migrations/0042_twofold.sql', migrationSql('auth'));
 * ```
 */
export function migrationSql(schema = 'public'): string {
  const s = quotedSchema({ schema }, 'migrationSql');
  return `-- twofold: the tables of the PostgreSQL adapter (twofold/adapters/postgres) in schema ${s}.
-- migrationSql(${JSON.stringify(schema)}) returns this text and migrate() runs it. Every statement is
-- idempotent; run it as one transaction (psql --single-transaction -f ...) so that the
-- advisory lock serialises app servers that migrate at the same time.

SELECT pg_advisory_xact_lock(${MIGRATION_LOCK}); -- key: the ASCII bytes of 'twofold'
${schema === 'public' ? '' : `CREATE SCHEMA IF NOT EXISTS ${s};\n`}
-- One MFA record per user. user_key is SHA-256 of the UTF-8 user id, so any id (NULs,
-- 10 KB) keys a row; in SQL: sha256(convert_to(user_id, 'UTF8')). record is the JSON
-- text of the record, as text: jsonb would reject the escaped NUL "\\u0000" that a
-- record may hold. version counts writes from 1; each write is a compare-and-set on it.
CREATE TABLE IF NOT EXISTS ${s}.twofold_users (
  user_key bytea PRIMARY KEY CHECK (octet_length(user_key) = 32),
  record text NOT NULL,
  version bigint NOT NULL CHECK (version >= 1)
);

-- The user id itself (its UTF-8 bytes: bytea, since an id may hold NUL), written with
-- every record, so that a maintenance walk (UserStore.scan) can name each user. NULL in
-- rows written before twofold kept it, until their next write.
ALTER TABLE ${s}.twofold_users ADD COLUMN IF NOT EXISTS user_id bytea;

-- One recovery-code set per user, in one row, so replacing a set is one atomic row
-- write: hashes[i] (32 bytes) is unused while used_at[i] is NULL. generation orders
-- the replaces: one applies only if its generation is greater than the stored one.
CREATE TABLE IF NOT EXISTS ${s}.twofold_recovery_codes (
  user_key bytea PRIMARY KEY CHECK (octet_length(user_key) = 32),
  generation bigint NOT NULL CHECK (generation >= 0),
  hashes bytea[] NOT NULL,
  used_at timestamptz[] NOT NULL,
  CHECK (cardinality(used_at) = cardinality(hashes))
);
`;
}

/**
 * Creates twofold's schema (unless `public`) and tables if they do not exist
 * yet. Idempotent, and safe when several app servers start at once: the SQL
 * of {@link migrationSql} is sent as one multi-statement query, which
 * PostgreSQL runs as one transaction holding an advisory lock.
 *
 * @throws {MfaError} `invalid_option` for an invalid schema name or client;
 *   database errors propagate unchanged.
 * @example
 * ```ts
 * import pg from 'pg';
 * import { MfaService } from 'twofold';
 * import { migrate, PostgresRecoveryCodeStore, PostgresUserStore } from 'twofold/adapters/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * pool.on('error', (error) => console.error('PostgreSQL idle client lost', error)); // the pool reconnects
 * await migrate(pool);
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new PostgresUserStore(pool),
 *   recoveryCodes: new PostgresRecoveryCodeStore(pool),
 * });
 * ```
 */
export async function migrate(db: Queryable, options: PostgresStoreOptions = {}): Promise<void> {
  assertQueryable(db, 'migrate');
  quotedSchema(options, 'migrate');
  // Without values, pg sends the text with the simple-query protocol: one implicit transaction.
  await db.query(migrationSql(options?.schema));
}
