/**
 * The example on MySQL or MariaDB (`DATABASE_URL=mysql://…`): twofold's
 * tables (twofold/adapters/mysql), the accounts and the sessions in the
 * database of the URL, over one mysql2/promise pool. Every write below is one
 * statement in autocommit mode, atomic under InnoDB's row locks, so any
 * pooled connection serves any call and several app servers can share the
 * database.
 */
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { AccountRecord, AccountStore, EmailRecoveryNote } from '../account-store.ts';
import type { SessionRows } from './session-store.ts';

/**
 * The example's own tables (twofold's are created by its `migrate`). Ids,
 * names and session ids are VARBINARY: they match only themselves, byte for
 * byte (no case folding, and no PAD SPACE, which the `_bin` collations of
 * MariaDB and MySQL 5.7 apply: 'ann ' = 'ann'); usernames and emails are
 * stored in lower case by accounts.ts.
 */
export const MYSQL_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS example_accounts (
  id VARBINARY(64) NOT NULL PRIMARY KEY,
  username VARBINARY(128) NOT NULL,
  email VARBINARY(255) NOT NULL,
  password_hash VARBINARY(255) NOT NULL,
  session_generation BIGINT NOT NULL DEFAULT 0,
  reset_token_hash VARBINARY(64) NULL,
  reset_expires_at BIGINT NULL,
  UNIQUE KEY example_accounts_username (username),
  UNIQUE KEY example_accounts_email (email)
) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS example_email_recoveries (
  account_id VARBINARY(64) NOT NULL PRIMARY KEY,
  token_hash VARBINARY(64) NOT NULL,
  completed_at BIGINT NOT NULL,
  set_up_again BOOLEAN NOT NULL
) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS example_sessions (
  sid VARBINARY(255) NOT NULL PRIMARY KEY,
  sess MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  expires_at BIGINT NOT NULL,
  KEY example_sessions_expires_at (expires_at)
) ENGINE=InnoDB`,
];

/** Create the example's tables (CREATE TABLE IF NOT EXISTS: servers starting together are fine). */
export async function migrateMysql(pool: Pool): Promise<void> {
  for (const statement of MYSQL_SCHEMA) await pool.query(statement);
}

/** VARBINARY columns arrive as Buffers. */
interface AccountRow extends RowDataPacket {
  id: Buffer;
  username: Buffer;
  email: Buffer;
  password_hash: Buffer;
  session_generation: number | string;
  reset_token_hash: Buffer | null;
  reset_expires_at: number | string | null;
}

function toRecord(row: AccountRow | undefined): AccountRecord | undefined {
  if (row === undefined) return undefined;
  return {
    id: row.id.toString('utf8'),
    username: row.username.toString('utf8'),
    email: row.email.toString('utf8'),
    passwordHash: row.password_hash.toString('utf8'),
    sessionGeneration: Number(row.session_generation),
    resetTokenHash: row.reset_token_hash === null ? null : row.reset_token_hash.toString('utf8'),
    resetExpiresAt: row.reset_expires_at === null ? null : Number(row.reset_expires_at),
  };
}

const COLUMNS = 'id, username, email, password_hash, session_generation, reset_token_hash, reset_expires_at';
/** ER_DUP_ENTRY: a unique key (username, email, id) is taken. */
const DUPLICATE_KEY = 1062;

export class MysqlAccountStore implements AccountStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async #one(where: string, value: string): Promise<AccountRecord | undefined> {
    const [rows] = await this.#pool.execute<AccountRow[]>(`SELECT ${COLUMNS} FROM example_accounts WHERE ${where} = ?`, [value]);
    return toRecord(rows[0]);
  }

  async #write(sql: string, values: unknown[]): Promise<number> {
    const [result] = await this.#pool.execute<ResultSetHeader>(sql, values as never);
    return result.affectedRows;
  }

  async insert(account: Pick<AccountRecord, 'id' | 'username' | 'email' | 'passwordHash'>): Promise<boolean> {
    try {
      await this.#write('INSERT INTO example_accounts (id, username, email, password_hash) VALUES (?, ?, ?, ?)', [
        account.id,
        account.username,
        account.email,
        account.passwordHash,
      ]);
      return true;
    } catch (error) {
      if ((error as { errno?: unknown }).errno === DUPLICATE_KEY) return false;
      throw error;
    }
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
    const changed =
      expected === undefined
        ? await this.#write('UPDATE example_accounts SET password_hash = ? WHERE id = ?', [passwordHash, id])
        : await this.#write('UPDATE example_accounts SET password_hash = ? WHERE id = ? AND password_hash = ?', [passwordHash, id, expected]);
    return changed === 1;
  }

  async setReset(id: string, tokenHash: string, expiresAt: number): Promise<void> {
    await this.#write('UPDATE example_accounts SET reset_token_hash = ?, reset_expires_at = ? WHERE id = ?', [tokenHash, expiresAt, id]);
  }

  async takeReset(id: string, tokenHash: string, now: number): Promise<boolean> {
    const changed = await this.#write(
      'UPDATE example_accounts SET reset_token_hash = NULL, reset_expires_at = NULL WHERE id = ? AND reset_token_hash = ? AND reset_expires_at > ?',
      [id, tokenHash, now],
    );
    return changed === 1;
  }

  async bumpGeneration(id: string): Promise<number | undefined> {
    // LAST_INSERT_ID(expr) hands the new value back in the statement's own result
    // (MySQL and MariaDB alike, no RETURNING on UPDATE): one atomic statement.
    const [result] = await this.#pool.execute<ResultSetHeader>(
      'UPDATE example_accounts SET session_generation = LAST_INSERT_ID(session_generation + 1) WHERE id = ?',
      [id],
    );
    return result.affectedRows === 1 ? Number(result.insertId) : undefined;
  }

  async noteEmailRecovery(id: string, tokenHash: string, completedAt: number): Promise<void> {
    await this.#write(
      'INSERT INTO example_email_recoveries (account_id, token_hash, completed_at, set_up_again) VALUES (?, ?, ?, TRUE) ' +
        'ON DUPLICATE KEY UPDATE token_hash = VALUES(token_hash), completed_at = VALUES(completed_at), set_up_again = TRUE',
      [id, tokenHash, completedAt],
    );
  }

  async emailRecoveryOf(id: string): Promise<EmailRecoveryNote | undefined> {
    const [rows] = await this.#pool.execute<RowDataPacket[]>(
      'SELECT token_hash, completed_at, set_up_again FROM example_email_recoveries WHERE account_id = ?',
      [id],
    );
    const row = rows[0] as { token_hash: Buffer; completed_at: number | string; set_up_again: number } | undefined;
    return row === undefined ? undefined : { tokenHash: row.token_hash.toString('utf8'), completedAt: Number(row.completed_at), setUpAgain: Number(row.set_up_again) === 1 };
  }

  async clearSetUpAgain(id: string): Promise<void> {
    await this.#write('UPDATE example_email_recoveries SET set_up_again = FALSE WHERE account_id = ?', [id]);
  }
}

/** The sessions table for {@link RowsSessionStore}. */
export function mysqlSessionRows(pool: Pool): SessionRows {
  return {
    get: async (sid, now) => {
      const [rows] = await pool.execute<RowDataPacket[]>('SELECT sess FROM example_sessions WHERE sid = ? AND expires_at > ?', [sid, now]);
      return rows[0]?.sess as string | undefined;
    },
    set: async (sid, json, expiresAt) => {
      await pool.execute(
        'INSERT INTO example_sessions (sid, sess, expires_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE sess = ?, expires_at = ?',
        [sid, json, expiresAt, json, expiresAt],
      );
    },
    touch: async (sid, expiresAt) => {
      await pool.execute('UPDATE example_sessions SET expires_at = ? WHERE sid = ?', [expiresAt, sid]);
    },
    destroy: async (sid) => {
      await pool.execute('DELETE FROM example_sessions WHERE sid = ?', [sid]);
    },
    prune: async (now) => {
      await pool.execute('DELETE FROM example_sessions WHERE expires_at <= ?', [now]);
    },
  };
}
