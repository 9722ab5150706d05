/**
 * Shared set-up for the SQLite adapter tests: fresh database files in one
 * temporary directory per process (WAL, busy timeout), the stores over a
 * connection, a connection wrapper that injects faults around chosen
 * statements, and `makeStores` for the verify worker
 * (test/support/verify-worker.ts) of the multi-process races. Loaded by the
 * worker and by helper processes too, so no vitest here.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RecoveryCodeStore, UserStore } from 'twofold';
import { migrate, SqliteRecoveryCodeStore, SqliteUserStore, type SqliteDatabase, type SqliteStatement } from 'twofold/adapters/sqlite';

let directory: string | null = null;

/** A path in this process's temporary directory that no file has yet. */
export function freshPath(label = 'db'): string {
  directory ??= mkdtempSync(join(tmpdir(), 'twofold-sqlite-'));
  return join(directory, `${label}-${randomBytes(6).toString('hex')}.sqlite`);
}

/** Removes this process's temporary directory (every file made by {@link freshPath}). */
export function removeFiles(): void {
  if (directory !== null) rmSync(directory, { recursive: true, force: true });
  directory = null;
}

export interface OpenOptions {
  /** The busy timeout in ms; default 5000 (better-sqlite3's). */
  timeout?: number;
  /** Put the file in WAL mode; default true. */
  wal?: boolean;
}

/** A connection on `path` as a host opens it: WAL and a busy timeout. */
export function open(path: string, options: OpenOptions = {}): Database.Database {
  const db = new Database(path, { timeout: options.timeout ?? 5000 });
  if (options.wal !== false) db.pragma('journal_mode = WAL');
  return db;
}

/** A fresh database file, open and migrated. */
export async function freshDatabase(options: OpenOptions & { tablePrefix?: string } = {}): Promise<{ db: Database.Database; path: string }> {
  const path = freshPath();
  const db = open(path, options);
  await migrate(db, options.tablePrefix === undefined ? {} : { tablePrefix: options.tablePrefix });
  return { db, path };
}

/** Both stores over one connection. */
export function storesOn(db: SqliteDatabase, tablePrefix?: string): { users: SqliteUserStore; recoveryCodes: SqliteRecoveryCodeStore } {
  const options = tablePrefix === undefined ? {} : { tablePrefix };
  return { users: new SqliteUserStore(db, options), recoveryCodes: new SqliteRecoveryCodeStore(db, options) };
}

export interface SqliteStoresOptions {
  /** A migrated database file in WAL mode. */
  path: string;
  tablePrefix?: string;
}

/** For the verify worker: both stores over a connection of its own (another process) on `path`; `close` closes it. */
export async function makeStores(options: SqliteStoresOptions): Promise<{ users: UserStore; recoveryCodes: RecoveryCodeStore; close(): Promise<void> }> {
  const db = open(options.path);
  return {
    ...storesOn(db, options.tablePrefix),
    close: async () => {
      db.close();
    },
  };
}

/** Where a fault hook is called: before a statement runs, or after it ran. */
export type Phase = 'before' | 'after';

/**
 * A connection that calls `hook(sql, phase)` before and after every
 * statement it runs (`run` or `get`); a hook that throws makes that run
 * throw, before the statement or after it took effect. Everything else goes
 * to `db` itself.
 */
export function faulty(db: Database.Database, hook: (sql: string, phase: Phase) => void): SqliteDatabase {
  const wrap = (sql: string, statement: SqliteStatement): SqliteStatement => ({
    run: (...params) => {
      hook(sql, 'before');
      const result = statement.run(...params);
      hook(sql, 'after');
      return result;
    },
    get: (...params) => {
      hook(sql, 'before');
      const row = statement.get(...params);
      hook(sql, 'after');
      return row;
    },
  });
  return {
    prepare: (sql) => wrap(sql, db.prepare(sql)),
    get open() {
      return db.open;
    },
    get readonly() {
      return db.readonly;
    },
  };
}

/** A fault for {@link faulty}: throws `error` at the `nth` (1-based) run of a statement matching `pattern`, in `phase`. */
export function failAt(pattern: RegExp, phase: Phase, nth = 1, error: () => Error = () => new Error('injected fault')): (sql: string, at: Phase) => void {
  let seen = 0;
  return (sql, at) => {
    if (at !== phase || !pattern.test(sql)) return;
    if (++seen === nth) throw error();
  };
}

/** The set of generation `generation` in the crash tests: 1 to 5 hashes, the same in every process. */
export function hashesFor(generation: number): string[] {
  return Array.from({ length: (generation % 5) + 1 }, (_, i) => createHash('sha256').update(`${generation}:${i}`).digest('hex'));
}

/** A helper Node process: `source` is an ES module (TypeScript allowed) run with tsx. */
export interface Child {
  /** Resolves with the first stdout line equal to `line`; rejects if the process exits first. */
  printed(line: string): Promise<void>;
  /** Resolves when the process has exited, with its code, signal, stdout and stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill(signal?: NodeJS.Signals): void;
}

export function runChild(source: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = stdout.split('\n');
    for (const waiter of [...waiters]) {
      if (lines.includes(waiter.line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    printed: (line) =>
      new Promise<void>((resolve, reject) => {
        if (stdout.split('\n').includes(line)) return resolve();
        waiters.push({ line, resolve });
        void exited.then(({ code, signal, stderr: err }) => reject(new Error(`child exited (${code ?? signal}) before printing ${line}: ${err}`)));
      }),
    exited,
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
  };
}
