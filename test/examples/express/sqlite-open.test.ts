/**
 * Processes started together on a new SQLite file (two `npm start`s, a
 * fleet on one machine) each switch it to WAL. SQLite may answer that switch
 * SQLITE_BUSY at once, without its busy timeout, while another process holds
 * the file: the example retries it within a deadline instead of refusing to
 * start ("cannot open the SQLite database: database is locked").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqlite, switchToWal } from '../../../examples/express/data/sqlite.ts';

class SqliteError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** A database whose `journal_mode = WAL` fails with `errors` in turn, then succeeds. */
function databaseFailing(errors: Error[]) {
  const calls: string[] = [];
  return {
    calls,
    pragma(source: string) {
      calls.push(source);
      const error = errors.shift();
      if (error) throw error;
      return [{ journal_mode: 'wal' }];
    },
  };
}

const busy = () => new SqliteError('database is locked', 'SQLITE_BUSY');

describe('the example switches a SQLite file to WAL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twofold-sqlite-open-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('retries a busy switch (another process holds the new file) until it goes through', async () => {
    const db = databaseFailing([busy(), busy(), busy()]);
    await switchToWal(db as never);
    expect(db.calls).toEqual(Array(4).fill('journal_mode = WAL'));
  });

  it('gives up with the busy error once the wait is over', async () => {
    const db = databaseFailing(Array.from({ length: 1000 }, busy));
    const started = Date.now();
    await expect(switchToWal(db as never, 100)).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(db.calls.length).toBeGreaterThan(1);
  });

  it('does not retry any other error', async () => {
    const db = databaseFailing([new SqliteError('file is not a database', 'SQLITE_NOTADB')]);
    await expect(switchToWal(db as never)).rejects.toMatchObject({ code: 'SQLITE_NOTADB' });
    expect(db.calls).toHaveLength(1);
  });

  it('opens a new file in WAL mode with a busy timeout and full sync', async () => {
    const db = await openSqlite(join(dir, 'new.db'));
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });
});
