/**
 * An express-session store over a few rows: the sessions of the SQLite,
 * MySQL/MariaDB and Redis setups, kept on the same connection (or pool, or
 * client) as the rest of the example's data. (PostgreSQL uses the maintained
 * connect-pg-simple instead: data/postgres.ts.)
 *
 * A session is stored as its JSON with the time its cookie expires: a
 * session whose time has passed is never returned, and expired rows are
 * deleted now and then. express-session renews the expiry on every request
 * (the idle limit of sessions.ts) through `touch`.
 */
import session from 'express-session';

/** The few statements a store needs from its engine; every one is atomic on its own. */
export interface SessionRows {
  /** The JSON of the session, unless it is missing or expired at `now`. */
  get(sid: string, now: number): Promise<string | undefined>;
  /** Insert or replace. */
  set(sid: string, json: string, expiresAt: number): Promise<void>;
  /** A new expiry for an existing session (nothing when it is gone). */
  touch(sid: string, expiresAt: number): Promise<void>;
  destroy(sid: string): Promise<void>;
  /** Delete the sessions expired at `now` (engines that expire keys themselves do nothing). */
  prune(now: number): Promise<void>;
}

/** Without a cookie expiry (not in this app: sessions.ts always sets maxAge), a session lives a day. */
const DEFAULT_TTL_MS = 24 * 3_600_000;
const PRUNE_EVERY_MS = 15 * 60_000;

/** When `data`'s cookie expires, in ms since epoch (the real clock, as express-session's cookie uses). */
export function expiryOf(data: session.SessionData): number {
  const expires = data.cookie?.expires;
  return expires ? new Date(expires).getTime() : Date.now() + DEFAULT_TTL_MS;
}

type Callback<T> = ((error: unknown, value?: T) => void) | undefined;

/** Settle `promise` into a node-style callback, outside the promise chain: an exception in the callback is not turned into a rejection. */
function settle<T>(promise: Promise<T>, callback: Callback<T>): void {
  promise.then(
    (value) => process.nextTick(() => callback?.(null, value)),
    (error: unknown) => process.nextTick(() => callback?.(error)),
  );
}

export class RowsSessionStore extends session.Store {
  readonly #rows: SessionRows;
  readonly #timer: NodeJS.Timeout | undefined;

  /** `pruneEveryMs`: 0 for never (Redis expires keys itself). */
  constructor(rows: SessionRows, options: { pruneEveryMs?: number } = {}) {
    super();
    this.#rows = rows;
    const every = options.pruneEveryMs ?? PRUNE_EVERY_MS;
    if (every > 0) {
      this.#timer = setInterval(() => {
        rows.prune(Date.now()).catch((error: unknown) => {
          console.error(`twofold example: deleting expired sessions failed: ${error instanceof Error ? error.message : String(error)}`);
        });
      }, every);
      // Never what keeps the process alive.
      this.#timer.unref();
    }
  }

  override get(sid: string, callback: (error: unknown, data?: session.SessionData | null) => void): void {
    settle(
      this.#rows.get(sid, Date.now()).then((json) => (json === undefined ? null : (JSON.parse(json) as session.SessionData))),
      callback,
    );
  }

  override set(sid: string, data: session.SessionData, callback?: (error?: unknown) => void): void {
    const expiresAt = expiryOf(data);
    settle(expiresAt <= Date.now() ? this.#rows.destroy(sid) : this.#rows.set(sid, JSON.stringify(data), expiresAt), callback);
  }

  override touch(sid: string, data: session.SessionData, callback?: () => void): void {
    settle(this.#rows.touch(sid, expiryOf(data)), callback);
  }

  override destroy(sid: string, callback?: (error?: unknown) => void): void {
    settle(this.#rows.destroy(sid), callback);
  }

  /** Delete expired sessions now (also done every 15 minutes). */
  prune(): Promise<void> {
    return this.#rows.prune(Date.now());
  }

  /** Stop the pruning timer; the connection is the caller's to close. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}
