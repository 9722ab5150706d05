/**
 * Where the example keeps its own accounts: one small interface
 * (`AccountStore`), one implementation per engine (SQLite, PostgreSQL and
 * MySQL/MariaDB in `data/`, in the same database as twofold's tables and the
 * sessions), and this in-memory one for fast in-process tests.
 *
 * The store only persists; the rules (hashing, validation, reset tokens)
 * live in accounts.ts. Every method that changes something is one atomic
 * statement, so several app processes on one database never overwrite each
 * other: the username is unique in the table, the generation is incremented
 * by the database, a reset token is taken by a conditional update that only
 * one request can win, and a re-hash only replaces the hash it re-hashed.
 */

/** One account as stored. */
export interface AccountRecord {
  /** Stable, opaque id given to twofold (never the username). */
  id: string;
  /** Lower case, unique. */
  username: string;
  /** Lower case, unique. */
  email: string;
  /** A PHC string: `$argon2id$…`, or `$scrypt$…` from before (passwords.ts). */
  passwordHash: string;
  /** Bumped when every session of the account must end (sessions.ts). */
  sessionGeneration: number;
  /** SHA-256 (hex) of the pending password-reset token, or null: at most one, the newest. */
  resetTokenHash: string | null;
  /** When that token expires (ms since epoch), or null. */
  resetExpiresAt: number | null;
}

/**
 * The last email recovery that removed an account's two-factor
 * authentication (twofold forgets it once done): the SHA-256 of its token,
 * so that the used link is told apart from a bad one ("already used: log
 * in"), and whether the account page still asks to set it up again (until
 * two-factor authentication is on again).
 */
export interface EmailRecoveryNote {
  tokenHash: string;
  completedAt: number;
  setUpAgain: boolean;
}

export interface AccountStore {
  /** Insert a new account (generation 0, no reset); false when the username or email is taken. */
  insert(account: Omit<AccountRecord, 'sessionGeneration' | 'resetTokenHash' | 'resetExpiresAt'>): Promise<boolean>;
  byId(id: string): Promise<AccountRecord | undefined>;
  byUsername(username: string): Promise<AccountRecord | undefined>;
  byEmail(email: string): Promise<AccountRecord | undefined>;
  /**
   * Replace the password hash. With `expected`, only when the stored hash is
   * still that one (a re-hash after login must not undo a password change made
   * meanwhile); true when it was written.
   */
  setPasswordHash(id: string, passwordHash: string, expected?: string): Promise<boolean>;
  /** Store the hash of a new reset token (replacing any earlier one). */
  setReset(id: string, tokenHash: string, expiresAt: number): Promise<void>;
  /**
   * Use up the reset token: clears it only when it is still `tokenHash` and
   * unexpired at `now`. True for exactly one of any number of concurrent calls.
   */
  takeReset(id: string, tokenHash: string, now: number): Promise<boolean>;
  /** Increment the session generation; resolves to the new one (undefined for an unknown id). */
  bumpGeneration(id: string): Promise<number | undefined>;
  /** Note a completed email recovery (replacing an earlier note), with `setUpAgain` on. */
  noteEmailRecovery(id: string, tokenHash: string, completedAt: number): Promise<void>;
  /** The note of the last completed email recovery, if any. */
  emailRecoveryOf(id: string): Promise<EmailRecoveryNote | undefined>;
  /** Two-factor authentication is on again: the account page stops asking (the note stays, for the used link). */
  clearSetUpAgain(id: string): Promise<void>;
}

/** In memory: one process, gone at exit. For tests and `createApp` without a database. */
export class MemoryAccountStore implements AccountStore {
  readonly #byId = new Map<string, AccountRecord>();
  readonly #idByUsername = new Map<string, string>();
  readonly #idByEmail = new Map<string, string>();
  readonly #recoveries = new Map<string, EmailRecoveryNote>();

  async insert(account: Omit<AccountRecord, 'sessionGeneration' | 'resetTokenHash' | 'resetExpiresAt'>): Promise<boolean> {
    if (this.#byId.has(account.id) || this.#idByUsername.has(account.username) || this.#idByEmail.has(account.email)) return false;
    this.#byId.set(account.id, { ...account, sessionGeneration: 0, resetTokenHash: null, resetExpiresAt: null });
    this.#idByUsername.set(account.username, account.id);
    this.#idByEmail.set(account.email, account.id);
    return true;
  }

  async byId(id: string): Promise<AccountRecord | undefined> {
    const found = this.#byId.get(id);
    // A copy, as a database hands out: callers cannot change the stored one.
    return found && { ...found };
  }

  byUsername(username: string): Promise<AccountRecord | undefined> {
    return this.byId(this.#idByUsername.get(username) ?? '');
  }

  byEmail(email: string): Promise<AccountRecord | undefined> {
    return this.byId(this.#idByEmail.get(email) ?? '');
  }

  async setPasswordHash(id: string, passwordHash: string, expected?: string): Promise<boolean> {
    const account = this.#byId.get(id);
    if (account === undefined || (expected !== undefined && account.passwordHash !== expected)) return false;
    account.passwordHash = passwordHash;
    return true;
  }

  async setReset(id: string, tokenHash: string, expiresAt: number): Promise<void> {
    const account = this.#byId.get(id);
    if (account === undefined) return;
    account.resetTokenHash = tokenHash;
    account.resetExpiresAt = expiresAt;
  }

  async takeReset(id: string, tokenHash: string, now: number): Promise<boolean> {
    const account = this.#byId.get(id);
    if (account === undefined || account.resetTokenHash !== tokenHash || account.resetExpiresAt === null || account.resetExpiresAt <= now) return false;
    account.resetTokenHash = null;
    account.resetExpiresAt = null;
    return true;
  }

  async bumpGeneration(id: string): Promise<number | undefined> {
    const account = this.#byId.get(id);
    if (account === undefined) return undefined;
    account.sessionGeneration += 1;
    return account.sessionGeneration;
  }

  async noteEmailRecovery(id: string, tokenHash: string, completedAt: number): Promise<void> {
    this.#recoveries.set(id, { tokenHash, completedAt, setUpAgain: true });
  }

  async emailRecoveryOf(id: string): Promise<EmailRecoveryNote | undefined> {
    const note = this.#recoveries.get(id);
    return note && { ...note };
  }

  async clearSetUpAgain(id: string): Promise<void> {
    const note = this.#recoveries.get(id);
    if (note !== undefined) note.setUpAgain = false;
  }
}
