/**
 * The example on PostgreSQL (`DATABASE_URL=postgres://…`): twofold's tables
 * (twofold/adapters/postgres), the accounts and the sessions in one schema
 * (DATABASE_SCHEMA, default `public`), over one pg pool. Sessions go through
 * connect-pg-simple (maintained, the usual express-session store for
 * PostgreSQL) on the same pool; its table is created here with the rest, so
 * app servers starting together never race to create it. Every account write
 * is one statement, atomic under READ COMMITTED.
 */
import type { Pool } from 'pg';
import type { AccountRecord, AccountStore, EmailRecoveryNote } from '../account-store.ts';

/** The table connect-pg-simple uses (its own layout, `table.sql`), and the example's accounts. */
export const SESSIONS_TABLE = 'example_sessions';

/** `schema` is validated by config.ts (a lower-case identifier); quoted anyway. */
function quoted(schema: string): string {
  return `"${schema.replace(/"/g, '""')}"`;
}

export function postgresSchemaSql(schema: string): string {
  const s = quoted(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};

CREATE TABLE IF NOT EXISTS ${s}.example_accounts (
  id text NOT NULL PRIMARY KEY,
  username text NOT NULL UNIQUE,
  email text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  session_generation bigint NOT NULL DEFAULT 0,
  reset_token_hash text,
  reset_expires_at bigint
);

CREATE TABLE IF NOT EXISTS ${s}.example_email_recoveries (
  account_id text NOT NULL PRIMARY KEY,
  token_hash text NOT NULL,
  completed_at bigint NOT NULL,
  set_up_again boolean NOT NULL
);

-- connect-pg-simple's table (its table.sql), under the example's name.
CREATE TABLE IF NOT EXISTS ${s}.${SESSIONS_TABLE} (
  sid varchar NOT NULL COLLATE "default" PRIMARY KEY,
  sess json NOT NULL,
  expire timestamp(6) NOT NULL
);
CREATE INDEX IF NOT EXISTS example_sessions_expire ON ${s}.${SESSIONS_TABLE} (expire);
`;
}

/**
 * Create the example's tables in one transaction holding an advisory lock:
 * concurrent CREATE TABLE IF NOT EXISTS can fail in PostgreSQL, so app
 * servers starting together take turns.
 */
export async function migratePostgres(pool: Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('twofold example migrate'))`);
    await client.query(postgresSchemaSql(schema));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

interface AccountRow {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  session_generation: string | number;
  reset_token_hash: string | null;
  reset_expires_at: string | number | null;
}

function toRecord(row: AccountRow | undefined): AccountRecord | undefined {
  if (row === undefined) return undefined;
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    passwordHash: row.password_hash,
    // bigint columns arrive as strings.
    sessionGeneration: Number(row.session_generation),
    resetTokenHash: row.reset_token_hash,
    resetExpiresAt: row.reset_expires_at === null ? null : Number(row.reset_expires_at),
  };
}

const COLUMNS = 'id, username, email, password_hash, session_generation, reset_token_hash, reset_expires_at';

export class PostgresAccountStore implements AccountStore {
  readonly #pool: Pool;
  readonly #table: string;
  readonly #recoveries: string;

  constructor(pool: Pool, schema: string) {
    this.#pool = pool;
    this.#table = `${quoted(schema)}.example_accounts`;
    this.#recoveries = `${quoted(schema)}.example_email_recoveries`;
  }

  async #one(where: string, value: string): Promise<AccountRecord | undefined> {
    const result = await this.#pool.query<AccountRow>(`SELECT ${COLUMNS} FROM ${this.#table} WHERE ${where} = $1`, [value]);
    return toRecord(result.rows[0]);
  }

  async insert(account: Pick<AccountRecord, 'id' | 'username' | 'email' | 'passwordHash'>): Promise<boolean> {
    const result = await this.#pool.query(`INSERT INTO ${this.#table} (id, username, email, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [
      account.id,
      account.username,
      account.email,
      account.passwordHash,
    ]);
    return result.rowCount === 1;
  }

  byId(id: string): Promise<AccountRecord | undefined> {
    return this.#one('id', id);
  }

  byUsername(username: string): Promise<AccountRecord | undefined> {
    return this.#one('username', username);
  }

  byEmail(email: string): Promise<AccountRecord | undefined> {
    return this.#one('email', email);
  }

  async setPasswordHash(id: string, passwordHash: string, expected?: string): Promise<boolean> {
    const result =
      expected === undefined
        ? await this.#pool.query(`UPDATE ${this.#table} SET password_hash = $1 WHERE id = $2`, [passwordHash, id])
        : await this.#pool.query(`UPDATE ${this.#table} SET password_hash = $1 WHERE id = $2 AND password_hash = $3`, [passwordHash, id, expected]);
    return result.rowCount === 1;
  }

  async setReset(id: string, tokenHash: string, expiresAt: number): Promise<void> {
    await this.#pool.query(`UPDATE ${this.#table} SET reset_token_hash = $1, reset_expires_at = $2 WHERE id = $3`, [tokenHash, expiresAt, id]);
  }

  async takeReset(id: string, tokenHash: string, now: number): Promise<boolean> {
    const result = await this.#pool.query(
      `UPDATE ${this.#table} SET reset_token_hash = NULL, reset_expires_at = NULL WHERE id = $1 AND reset_token_hash = $2 AND reset_expires_at > $3`,
      [id, tokenHash, now],
    );
    return result.rowCount === 1;
  }

  async bumpGeneration(id: string): Promise<number | undefined> {
    const result = await this.#pool.query<{ session_generation: string }>(
      `UPDATE ${this.#table} SET session_generation = session_generation + 1 WHERE id = $1 RETURNING session_generation`,
      [id],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : Number(row.session_generation);
  }

  async noteEmailRecovery(id: string, tokenHash: string, completedAt: number): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#recoveries} (account_id, token_hash, completed_at, set_up_again) VALUES ($1, $2, $3, true) ` +
        'ON CONFLICT (account_id) DO UPDATE SET token_hash = excluded.token_hash, completed_at = excluded.completed_at, set_up_again = true',
      [id, tokenHash, completedAt],
    );
  }

  async emailRecoveryOf(id: string): Promise<EmailRecoveryNote | undefined> {
    const result = await this.#pool.query<{ token_hash: string; completed_at: string | number; set_up_again: boolean }>(
      `SELECT token_hash, completed_at, set_up_again FROM ${this.#recoveries} WHERE account_id = $1`,
      [id],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : { tokenHash: row.token_hash, completedAt: Number(row.completed_at), setUpAgain: row.set_up_again };
  }

  async clearSetUpAgain(id: string): Promise<void> {
    await this.#pool.query(`UPDATE ${this.#recoveries} SET set_up_again = false WHERE account_id = $1`, [id]);
  }
}
