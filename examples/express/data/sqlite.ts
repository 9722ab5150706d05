/**
 * The example on one SQLite file (the default: `.data/example.db`):
 * twofold's tables (twofold/adapters/sqlite), the accounts and the sessions,
 * all on one better-sqlite3 connection per process. Several processes on one
 * machine may share the file: WAL mode and a busy timeout (set here, checked
 * by twofold's adapter) make their writes take turns, and every write below
 * is one statement.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { AccountRecord, AccountStore, EmailRecoveryNote } from '../account-store.ts';
import type { SessionRows } from './session-store.ts';

type SqliteDatabase = Database.Database;

/** The example's own tables (twofold's are created by its `migrate`). Each statement is idempotent. */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS example_accounts (
  id TEXT NOT NULL PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  session_generation INTEGER NOT NULL DEFAULT 0,
  reset_token_hash TEXT,
  reset_expires_at INTEGER
) STRICT;

CREATE TABLE IF NOT EXISTS example_email_recoveries (
  account_id TEXT NOT NULL PRIMARY KEY,
  token_hash TEXT NOT NULL,
  completed_at INTEGER NOT NULL,
  set_up_again INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS example_sessions (
  sid TEXT NOT NULL PRIMARY KEY,
  sess TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS example_sessions_expires_at ON example_sessions (expires_at);
`;

/** Open (creating it if need be) the database file with what several processes need: WAL, a busy timeout, full fsync. */
export async function openSqlite(file: string): Promise<SqliteDatabase> {
  // The driver is loaded only when SQLite is used, as an application would.
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Created private (0600) before SQLite opens it: its -wal and -shm files get the same mode.
  closeSync(openSync(file, 'a', 0o600));
  // A write waits up to 5 s for another process's write instead of failing at once.
  const db = new BetterSqlite3(file, { timeout: 5000 });
  try {
    await switchToWal(db);
    // Every commit on disk before it is reported: a used code stays used after a power loss.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** How long processes starting together on a new file may wait for each other to switch it to WAL. */
const WAL_SWITCH_WAIT_MS = 5000;

/**
 * `journal_mode = WAL`, retried while another process holds the file. The
 * switch needs the file to itself for a moment, and SQLite answers
 * SQLITE_BUSY at once, without its busy timeout, when two processes that
 * opened a new file together both ask for it. Once one has switched, the
 * mode is kept in the file and the others' switch is a no-op.
 */
export async function switchToWal(db: Pick<SqliteDatabase, 'pragma'>, waitMs = WAL_SWITCH_WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = (error as { code?: unknown }).code === 'SQLITE_BUSY';
      if (!busy || Date.now() >= deadline) throw error;
      await sleep(Math.min(5 * attempt, 50));
    }
  }
}

/** Create the example's tables, in one BEGIN IMMEDIATE transaction (processes starting together take turns). */
export function migrateSqlite(db: SqliteDatabase): void {
  db.transaction(() => db.exec(SQLITE_SCHEMA)).immediate();
}

interface AccountRow {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  session_generation: number | bigint;
  reset_token_hash: string | null;
  reset_expires_at: number | bigint | null;
}

function toRecord(row: AccountRow | undefined): AccountRecord | undefined {
  if (row === undefined) return undefined;
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    passwordHash: row.password_hash,
    sessionGeneration: Number(row.session_generation),
    resetTokenHash: row.reset_token_hash,
    resetExpiresAt: row.reset_expires_at === null ? null : Number(row.reset_expires_at),
  };
}

const COLUMNS = 'id, username, email, password_hash, session_generation, reset_token_hash, reset_expires_at';

export class SqliteAccountStore implements AccountStore {
  readonly #statements;

  constructor(db: SqliteDatabase) {
    this.#statements = {
      insert: db.prepare('INSERT INTO example_accounts (id, username, email, password_hash) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      byId: db.prepare<[string], AccountRow>(`SELECT ${COLUMNS} FROM example_accounts WHERE id = ?`),
      byUsername: db.prepare<[string], AccountRow>(`SELECT ${COLUMNS} FROM example_accounts WHERE username = ?`),
      byEmail: db.prepare<[string], AccountRow>(`SELECT ${COLUMNS} FROM example_accounts WHERE email = ?`),
      setHash: db.prepare('UPDATE example_accounts SET password_hash = ? WHERE id = ?'),
      replaceHash: db.prepare('UPDATE example_accounts SET password_hash = ? WHERE id = ? AND password_hash = ?'),
      setReset: db.prepare('UPDATE example_accounts SET reset_token_hash = ?, reset_expires_at = ? WHERE id = ?'),
      takeReset: db.prepare(
        'UPDATE example_accounts SET reset_token_hash = NULL, reset_expires_at = NULL WHERE id = ? AND reset_token_hash = ? AND reset_expires_at > ?',
      ),
      bump: db.prepare<[string], { session_generation: number | bigint }>(
        'UPDATE example_accounts SET session_generation = session_generation + 1 WHERE id = ? RETURNING session_generation',
      ),
      noteRecovery: db.prepare(
        'INSERT INTO example_email_recoveries (account_id, token_hash, completed_at, set_up_again) VALUES (?, ?, ?, 1) ' +
          'ON CONFLICT (account_id) DO UPDATE SET token_hash = excluded.token_hash, completed_at = excluded.completed_at, set_up_again = 1',
      ),
      recoveryOf: db.prepare<[string], { token_hash: string; completed_at: number | bigint; set_up_again: number | bigint }>(
        'SELECT token_hash, completed_at, set_up_again FROM example_email_recoveries WHERE account_id = ?',
      ),
      clearSetUpAgain: db.prepare('UPDATE example_email_recoveries SET set_up_again = 0 WHERE account_id = ?'),
    };
  }

  async insert(account: Pick<AccountRecord, 'id' | 'username' | 'email' | 'passwordHash'>): Promise<boolean> {
    return this.#statements.insert.run(account.id, account.username, account.email, account.passwordHash).changes === 1;
  }

  async byId(id: string): Promise<AccountRecord | undefined> {
    return toRecord(this.#statements.byId.get(id));
  }

  async byUsername(username: string): Promise<AccountRecord | undefined> {
    return toRecord(this.#statements.byUsername.get(username));
  }

  async byEmail(email: string): Promise<AccountRecord | undefined> {
    return toRecord(this.#statements.byEmail.get(email));
  }

  async setPasswordHash(id: string, passwordHash: string, expected?: string): Promise<boolean> {
    const result = expected === undefined ? this.#statements.setHash.run(passwordHash, id) : this.#statements.replaceHash.run(passwordHash, id, expected);
    return result.changes === 1;
  }

  async setReset(id: string, tokenHash: string, expiresAt: number): Promise<void> {
    this.#statements.setReset.run(tokenHash, expiresAt, id);
  }

  async takeReset(id: string, tokenHash: string, now: number): Promise<boolean> {
    return this.#statements.takeReset.run(id, tokenHash, now).changes === 1;
  }

  async bumpGeneration(id: string): Promise<number | undefined> {
    const row = this.#statements.bump.get(id);
    return row === undefined ? undefined : Number(row.session_generation);
  }

  async noteEmailRecovery(id: string, tokenHash: string, completedAt: number): Promise<void> {
    this.#statements.noteRecovery.run(id, tokenHash, completedAt);
  }

  async emailRecoveryOf(id: string): Promise<EmailRecoveryNote | undefined> {
    const row = this.#statements.recoveryOf.get(id);
    return row === undefined ? undefined : { tokenHash: row.token_hash, completedAt: Number(row.completed_at), setUpAgain: Number(row.set_up_again) === 1 };
  }

  async clearSetUpAgain(id: string): Promise<void> {
    this.#statements.clearSetUpAgain.run(id);
  }
}

/** The sessions table for {@link RowsSessionStore}. */
export function sqliteSessionRows(db: SqliteDatabase): SessionRows {
  const get = db.prepare<[string, number], { sess: string }>('SELECT sess FROM example_sessions WHERE sid = ? AND expires_at > ?');
  const set = db.prepare(
    'INSERT INTO example_sessions (sid, sess, expires_at) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expires_at = excluded.expires_at',
  );
  const touch = db.prepare('UPDATE example_sessions SET expires_at = ? WHERE sid = ?');
  const destroy = db.prepare('DELETE FROM example_sessions WHERE sid = ?');
  const prune = db.prepare('DELETE FROM example_sessions WHERE expires_at <= ?');
  return {
    get: async (sid, now) => get.get(sid, now)?.sess,
    set: async (sid, json, expiresAt) => void set.run(sid, json, expiresAt),
    touch: async (sid, expiresAt) => void touch.run(expiresAt, sid),
    destroy: async (sid) => void destroy.run(sid),
    prune: async (now) => void prune.run(now),
  };
}
