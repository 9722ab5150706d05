/**
 * Faults on a real MariaDB server: the pool's connection is killed
 * (`KILL CONNECTION`), its statement interrupted (`KILL QUERY`) or timed out
 * (`innodb_lock_wait_timeout`) while a store statement waits on a row lock,
 * or every connection is killed while the pool sits idle. The operation
 * rejects with the driver's error, nothing half-written is left (old state
 * or new, never a mix; a write interrupted before its commit never
 * happened), the next call works once the pool has reconnected, and a
 * killed idle connection never crashes the process. Last, through a TCP
 * proxy, the connection is dropped after the commit but before the reply:
 * the call rejects although the write was made (a rejection means "not
 * known", never "not written"); mysql2 never re-sends a statement.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { MfaService } from 'twofold';
import { migrate, type MysqlRecoveryCodeStore, type MysqlUserStore } from 'twofold/adapters/mysql';
import { sampleRecord } from 'twofold/testing';
import { MYSQL_URL, mysqlSkipReason } from '../support/services.ts';
import { codeAt, ok, SECOND, T0 } from '../service/fixtures.ts';
import { createPool, dropTablesAndEnd, freshPrefix, storesOn, type TestPool } from './mysql-stores.ts';

const skip = await mysqlSkipReason();
const STEP = 30 * SECOND;

type DriverError = Error & { code?: string; errno?: number };

/** What mysql2 reports when the server kills the connection under a statement (MariaDB closes it; MySQL may send ER_CONNECTION_KILLED first). */
function expectKilled(error: DriverError): void {
  expect(['PROTOCOL_CONNECTION_LOST', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED'], `${error.code}: ${error.message}`).toContain(error.code);
}

const hash = (): string => randomBytes(32).toString('hex');

async function rejection(promise: Promise<unknown>): Promise<DriverError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as DriverError;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** SHA-256 hex of a user id: the key the adapter sends with every statement about that user. */
const keyOf = (userId: string): string => createHash('sha256').update(userId, 'utf8').digest('hex');

/** A TCP proxy to the test server that drops a connection right after the server answers a chosen request. */
class ReplyCutter {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut: { marker: string; done: () => void } | null = null;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<ReplyCutter> {
    const target = new URL(MYSQL_URL);
    let proxy!: ReplyCutter;
    const server = createServer((client) => proxy.#accept(client, target.hostname, Number(target.port || 3306)));
    proxy = new ReplyCutter(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** A pool through the proxy. */
  pool(): TestPool {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    const url = new URL(MYSQL_URL);
    url.port = String(address.port);
    return createPool({ max: 2, uri: url.href });
  }

  /** The next request containing `marker` runs; its reply is swallowed and the connection dropped. Resolves once dropped. */
  cutAfterReply(marker: string): Promise<void> {
    return new Promise((done) => {
      this.#cut = { marker, done };
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, host: string, port: number): void {
    const upstream = connect({ host, port });
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    let swallow: (() => void) | null = null;
    client.on('data', (chunk: Buffer) => {
      if (this.#cut && chunk.includes(this.#cut.marker)) {
        swallow = this.#cut.done;
        this.#cut = null;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (swallow) {
        client.destroy();
        upstream.destroy();
        swallow();
        swallow = null;
        return;
      }
      client.write(chunk);
    });
  }
}

describe.skipIf(skip)('MySQL (MariaDB): connection faults', () => {
  let admin: TestPool;
  let tablePrefix: string;
  let pool: TestPool;
  let users: MysqlUserStore;
  let codes: MysqlRecoveryCodeStore;
  let now = T0;
  let warnings: MockInstance<typeof process.emitWarning>;

  type Table = 'users' | 'recovery_codes';
  const table = (name: Table) => `\`${tablePrefix}${name}\``;

  beforeAll(async () => {
    admin = createPool({ max: 3 });
    tablePrefix = freshPrefix();
    await migrate(admin, { tablePrefix });
  });

  afterAll(async () => {
    await dropTablesAndEnd(admin, tablePrefix);
  });

  beforeEach(() => {
    // A fresh pool under test per case; only its connections (by thread id) are ever killed.
    pool = createPool({ max: 4 });
    ({ users, recoveryCodes: codes } = storesOn(pool, tablePrefix));
    warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await pool.end();
  });

  function service(): MfaService {
    return new MfaService({ issuer: 'Faults', secretKey: `hex:${'44'.repeat(32)}`, users, recoveryCodes: codes, now: () => now });
  }

  function storeWarnings(): number {
    return warnings.mock.calls.filter(([, options]) => (options as { type?: string } | undefined)?.type === 'TwofoldStoreWarning').length;
  }

  /** Another connection holds the user's row in `name` locked (or, for `insert`, a new uncommitted row) until `release`. */
  async function lockRow(name: Table, userId: string, insert?: string): Promise<{ release(): Promise<void> }> {
    const connection = await admin.getConnection();
    await connection.query('BEGIN');
    if (insert !== undefined) {
      await connection.query(insert, [userId]);
    } else {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT 1 FROM ${table(name)} WHERE user_key = UNHEX(SHA2(?, 256)) FOR UPDATE`, [userId]);
      expect(rows).toHaveLength(1);
    }
    return {
      async release() {
        await connection.query('ROLLBACK');
        connection.release();
      },
    };
  }

  /**
   * Waits until one of the pool's statements on `name` (whose row this test
   * holds locked) has been running for 100 ms, so it waits on the row lock,
   * then kills its connection (or only its statement). PROCESSLIST, not
   * INNODB_TRX: InnoDB refreshes that snapshot only after 100 ms without a
   * read, so it may list a connection killed a moment ago, or miss a new wait.
   */
  async function interruptWaiting(name: Table, how: 'connection' | 'query' = 'connection'): Promise<number> {
    const threadId = await until('a statement of the pool to wait on the lock', async () => {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID IN (?) AND INFO LIKE ? AND TIME_MS >= 100`,
        [pool.threadIds.length > 0 ? pool.threadIds : [0], `%${table(name)}%`],
      );
      return rows.length === 1 ? Number(rows[0]!.id) : undefined;
    });
    expect(Number.isSafeInteger(threadId)).toBe(true);
    await admin.query(`KILL ${how === 'connection' ? 'CONNECTION' : 'QUERY'} ${threadId}`);
    return threadId;
  }

  /** Run `operation` while the row of `userId` in `name` is locked; interrupt it while it waits. */
  async function interrupted<T>(name: Table, userId: string, operation: () => Promise<T>, how: 'connection' | 'query' = 'connection', insert?: string): Promise<DriverError> {
    const lock = await lockRow(name, userId, insert);
    try {
      const pending = operation();
      pending.catch(() => undefined);
      await interruptWaiting(name, how);
      return await rejection(pending);
    } finally {
      await lock.release();
    }
  }

  async function enroll(mfa: MfaService): Promise<{ userId: string; secret: string; codes: string[] }> {
    const userId = `fault-${hash().slice(0, 12)}`;
    const begun = ok(await mfa.beginEnrollment(userId, { accountName: 'fault@example.com' }));
    ok(await mfa.confirmEnrollment(userId, codeAt(begun.secret, now)));
    const revealed = ok(await mfa.revealRecoveryCodes(userId));
    now += STEP;
    return { userId, secret: begun.secret, codes: revealed.codes };
  }

  async function challenge(mfa: MfaService, userId: string): Promise<string> {
    const started = await mfa.startLogin(userId);
    if (!started.ok || !started.mfaRequired) throw new Error(`startLogin: ${JSON.stringify(started)}`);
    return started.challenge;
  }

  it('a compare-and-set killed mid-statement rejects with the driver error; the old record stays; the next put works', async () => {
    const userId = `cas-${hash()}`;
    expect(await users.put(userId, sampleRecord({ failures: 1 }), null)).toBe(true);
    expectKilled(await interrupted('users', userId, () => users.put(userId, sampleRecord({ failures: 2 }), 1)));
    expect(await users.get(userId)).toEqual({ record: sampleRecord({ failures: 1 }), version: 1 });
    expect(await users.put(userId, sampleRecord({ failures: 2 }), 1)).toBe(true);
    expect(await users.get(userId)).toEqual({ record: sampleRecord({ failures: 2 }), version: 2 });
  });

  it('a create killed while it waits on an uncommitted insert of the same id rejects; nothing is stored; the next create works', async () => {
    const userId = `create-${hash()}`;
    const insert = `INSERT INTO ${table('users')} (user_key, record, version) VALUES (UNHEX(SHA2(?, 256)), '{}', 1)`;
    expectKilled(await interrupted('users', userId, () => users.put(userId, sampleRecord(), null), 'connection', insert));
    expect(await users.get(userId)).toBeNull();
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
  });

  it('a replace killed mid-statement leaves the old set whole and unused-as-before; a retry installs the new set whole', async () => {
    const userId = `replace-${hash()}`;
    const old = [hash(), hash(), hash()];
    const fresh = [hash(), hash()];
    await codes.replace(userId, old, 1);
    expect(await codes.consume(userId, old[0]!)).toBe(true);
    expectKilled(await interrupted('recovery_codes', userId, () => codes.replace(userId, fresh, 2)));
    expect(await codes.countUnused(userId)).toBe(2);
    expect(await codes.consume(userId, fresh[0]!)).toBe(false);
    expect(await codes.consume(userId, old[0]!)).toBe(false);
    await codes.replace(userId, fresh, 2);
    expect(await codes.countUnused(userId)).toBe(2);
    for (const h of old) expect(await codes.consume(userId, h)).toBe(false);
    for (const h of fresh) expect(await codes.consume(userId, h)).toBe(true);
  });

  it('a consume killed mid-statement spends nothing; the code is consumable once afterwards', async () => {
    const userId = `consume-${hash()}`;
    const set = [hash(), hash()];
    await codes.replace(userId, set, 1);
    expectKilled(await interrupted('recovery_codes', userId, () => codes.consume(userId, set[0]!)));
    expect(await codes.countUnused(userId)).toBe(2);
    expect(await codes.consume(userId, set[0]!)).toBe(true);
    expect(await codes.consume(userId, set[0]!)).toBe(false);
  });

  it('a restore and a clear killed mid-statement change nothing', async () => {
    const userId = `restore-${hash()}`;
    const set = [hash(), hash()];
    await codes.replace(userId, set, 1);
    expect(await codes.consume(userId, set[0]!)).toBe(true);
    expectKilled(await interrupted('recovery_codes', userId, () => codes.restore(userId, set[0]!)));
    expect(await codes.countUnused(userId)).toBe(1);
    expectKilled(await interrupted('recovery_codes', userId, () => codes.clear(userId)));
    expect(await codes.countUnused(userId)).toBe(1);
    expect(await codes.consume(userId, set[1]!)).toBe(true);
  });

  it('a statement interrupted by KILL QUERY rejects with ER_QUERY_INTERRUPTED and changes nothing; the connection goes on', async () => {
    const userId = `kill-query-${hash()}`;
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    const before = [...pool.threadIds];
    const error = await interrupted('users', userId, () => users.put(userId, sampleRecord({ failures: 7 }), 1), 'query');
    expect(error.code).toBe('ER_QUERY_INTERRUPTED');
    expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
    expect(await users.put(userId, sampleRecord({ failures: 7 }), 1)).toBe(true);
    // No connection was lost, so none was opened to replace it.
    expect(pool.threadIds).toEqual(before);
  });

  it('a write that times out waiting for the row lock (innodb_lock_wait_timeout) rejects with ER_LOCK_WAIT_TIMEOUT and changes nothing', async () => {
    const userId = `timeout-${hash()}`;
    const set = [hash()];
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    await codes.replace(userId, set, 1);
    const impatient = createPool({ max: 1 });
    impatient.pool.on('connection', (connection) => {
      connection.query('SET SESSION innodb_lock_wait_timeout = 1');
    });
    try {
      const stores = storesOn(impatient, tablePrefix);
      for (const [name, operation] of [
        ['users', () => stores.users.put(userId, sampleRecord({ failures: 9 }), 1)],
        ['recovery_codes', () => stores.recoveryCodes.consume(userId, set[0]!)],
      ] as const) {
        const lock = await lockRow(name, userId);
        try {
          const error = await rejection(operation());
          expect(error.code).toBe('ER_LOCK_WAIT_TIMEOUT');
        } finally {
          await lock.release();
        }
      }
      expect(await users.get(userId)).toEqual({ record: sampleRecord(), version: 1 });
      expect(await codes.countUnused(userId)).toBe(1);
      expect(await stores.recoveryCodes.consume(userId, set[0]!)).toBe(true);
    } finally {
      await impatient.end();
    }
  });

  it('verifyLogin (TOTP) whose write is killed rejects unchanged; the code was not spent and works on the retry', async () => {
    const mfa = service();
    const { userId, secret } = await enroll(mfa);
    const before = await users.get(userId);
    const code = codeAt(secret, now);
    expectKilled(await interrupted('users', userId, () => challenge(mfa, userId).then((c) => mfa.verifyLogin(c, { totp: code }))));
    expect(await users.get(userId)).toEqual(before);
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { totp: code })).toMatchObject({ ok: true, method: 'totp' });
  });

  it('verifyLogin (recovery code) whose write is killed rejects; the consumed code is restored, so it still works once', async () => {
    const mfa = service();
    const { userId, codes: plain } = await enroll(mfa);
    const before = await users.get(userId);
    expectKilled(await interrupted('users', userId, () => challenge(mfa, userId).then((c) => mfa.verifyLogin(c, { recoveryCode: plain[0]! }))));
    expect(await users.get(userId)).toEqual(before);
    expect(await codes.countUnused(userId)).toBe(plain.length);
    expect(await mfa.status(userId)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: plain.length });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[0]! })).toMatchObject({
      ok: true,
      recoveryCodesRemaining: plain.length - 1,
    });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('regenerateRecoveryCodes killed at its write: the old codes stay live and whole', async () => {
    const mfa = service();
    const { userId, secret, codes: plain } = await enroll(mfa);
    expectKilled(await interrupted('users', userId, () => mfa.regenerateRecoveryCodes(userId, { totp: codeAt(secret, now) })));
    expect(await mfa.status(userId)).toMatchObject({ recoveryCodesRemaining: plain.length, recoveryCodesUnrevealed: false });
    expect(await mfa.revealRecoveryCodes(userId)).toEqual({ ok: false, reason: 'already_revealed' });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[1]! })).toMatchObject({ ok: true });
  });

  it('regenerateRecoveryCodes killed at its replace, after the record commit: a warning, the old codes are dead, reveal installs the new set', async () => {
    const mfa = service();
    const { userId, secret, codes: plain } = await enroll(mfa);
    const lock = await lockRow('recovery_codes', userId);
    let result: Awaited<ReturnType<MfaService['regenerateRecoveryCodes']>>;
    try {
      const pending = mfa.regenerateRecoveryCodes(userId, { totp: codeAt(secret, now) });
      await interruptWaiting('recovery_codes');
      result = await pending;
    } finally {
      await lock.release();
    }
    expect(result).toEqual({ ok: true, method: 'totp' });
    expect(storeWarnings()).toBe(1);
    now += STEP;
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: plain[2]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
    const revealed = ok(await mfa.revealRecoveryCodes(userId));
    expect(await codes.countUnused(userId)).toBe(revealed.codes.length);
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { recoveryCode: revealed.codes[0]! })).toMatchObject({
      ok: true,
      recoveryCodesRemaining: revealed.codes.length - 1,
    });
  });

  it('idle connections killed between operations: no error escapes, the pool drops them, and the next calls work', async () => {
    const mfa = service();
    const { userId, secret } = await enroll(mfa);
    // Several idle connections in the pool.
    await Promise.all(Array.from({ length: 4 }, () => users.get(userId)));
    const opened = [...pool.threadIds];
    expect(opened.length).toBeGreaterThan(1);
    const [alive] = await admin.query<mysql.RowDataPacket[]>(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID IN (?)`, [opened]);
    expect(alive.length).toBe(opened.length);
    for (const id of opened) await admin.query(`KILL CONNECTION ${Number(id)}`);
    await until('the killed connections to be gone', async () => {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN (?)`, [opened]);
      return rows.length === 0;
    });
    // The pool reconnects on demand, with new connections.
    expect(await mfa.status(userId)).toMatchObject({ state: 'enabled' });
    expect(await mfa.verifyLogin(await challenge(mfa, userId), { totp: codeAt(secret, now) })).toMatchObject({ ok: true });
    expect(pool.threadIds.length).toBeGreaterThan(opened.length);
  });

  describe('the reply lost after the commit', () => {
    let proxy: ReplyCutter;
    let proxied: TestPool;
    let stores: ReturnType<typeof storesOn>;

    beforeEach(async () => {
      proxy = await ReplyCutter.start();
      proxied = proxy.pool();
      stores = storesOn(proxied, tablePrefix);
    });

    afterEach(async () => {
      await proxied.end();
      await proxy.close();
    });

    it('a compare-and-set whose reply is lost rejects, yet it was written once; the same put again is false', async () => {
      const userId = `lost-put-${hash()}`;
      expect(await stores.users.put(userId, sampleRecord({ failures: 1 }), null)).toBe(true);
      const cut = proxy.cutAfterReply(keyOf(userId));
      const error = await rejection(stores.users.put(userId, sampleRecord({ failures: 2 }), 1));
      await cut;
      expect(error.code).toBe('PROTOCOL_CONNECTION_LOST');
      expect(await users.get(userId)).toEqual({ record: sampleRecord({ failures: 2 }), version: 2 });
      expect(await stores.users.put(userId, sampleRecord({ failures: 2 }), 1)).toBe(false);
      expect((await stores.users.get(userId))?.version).toBe(2);
    });

    it('a consume whose reply is lost rejects, yet the code is spent (the new state); the others are untouched', async () => {
      const userId = `lost-consume-${hash()}`;
      const set = [hash(), hash(), hash()];
      await stores.recoveryCodes.replace(userId, set, 1);
      const cut = proxy.cutAfterReply(keyOf(userId));
      const error = await rejection(stores.recoveryCodes.consume(userId, set[1]!));
      await cut;
      expect(error.code).toBe('PROTOCOL_CONNECTION_LOST');
      expect(await codes.countUnused(userId)).toBe(2);
      expect(await stores.recoveryCodes.consume(userId, set[1]!)).toBe(false);
      expect(await stores.recoveryCodes.consume(userId, set[0]!)).toBe(true);
    });
  });
});
