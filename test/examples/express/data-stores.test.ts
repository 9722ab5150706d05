/**
 * The example's own stores on every engine it runs on: the accounts
 * (account-store.ts: memory, SQLite, PostgreSQL, MariaDB) and the session
 * stores (the small one of data/session-store.ts on SQLite, MariaDB and
 * Redis; connect-pg-simple on PostgreSQL), through `openStores` as
 * server.ts opens them, each on a fresh file, schema or database. What
 * several app processes rely on is checked with concurrent calls: a
 * username is taken once, a reset token is used once, generations count
 * every bump, a re-hash never overwrites a newer password.
 */
import { randomBytes } from 'node:crypto';
import type session from 'express-session';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAccountStore, type AccountStore } from '../../../examples/express/account-store.ts';
import { SESSION_KEY_PREFIX } from '../../../examples/express/data/redis.ts';
import type { StoresConfig } from '../../../examples/express/config.ts';
import { openStores, type OpenStores } from '../../../examples/express/stores.ts';
import { mysqlSkipReason, postgresSkipReason, REDIS_URL, redisSkipReason } from '../../support/services.ts';
import { freshMysql, freshPostgres, freshSqlite, type FreshDatabase } from './databases.ts';

const postgresSkip = await postgresSkipReason();
const mysqlSkip = await mysqlSkipReason();
const redisSkip = await redisSkipReason();

interface Engine {
  name: string;
  skip: string | null;
  open: () => Promise<{ stores: OpenStores; config: StoresConfig; cleanup: () => Promise<void> }>;
}

function onDatabase(fresh: () => FreshDatabase | Promise<FreshDatabase>, redis?: string) {
  return async () => {
    const database = await fresh();
    const config: StoresConfig = { database: database.config, redis };
    const stores = await openStores(config);
    return {
      stores,
      config,
      cleanup: async () => {
        await stores.close();
        await database.drop();
      },
    };
  };
}

const engines: Engine[] = [
  { name: 'SQLite', skip: null, open: onDatabase(freshSqlite) },
  { name: 'PostgreSQL', skip: postgresSkip, open: onDatabase(freshPostgres) },
  { name: 'MariaDB', skip: mysqlSkip, open: onDatabase(freshMysql) },
];

let counter = 0;
function newAccount(overrides: Partial<{ id: string; username: string; email: string; passwordHash: string }> = {}) {
  counter += 1;
  const username = `u${counter}_${randomBytes(3).toString('hex')}`;
  return { id: `user_${randomBytes(8).toString('hex')}`, username, email: `${username}@example.test`, passwordHash: `$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA`, ...overrides };
}

function accountStoreContract(name: string, skip: string | null, make: () => Promise<{ accounts: AccountStore; cleanup: () => Promise<void> }>) {
  describe.skipIf(skip !== null)(`AccountStore on ${name}`, () => {
    let accounts: AccountStore;
    let cleanup: () => Promise<void> = async () => {};
    beforeAll(async () => {
      ({ accounts, cleanup } = await make());
    });
    afterAll(async () => {
      await cleanup();
    });

    it('inserts an account with generation 0 and no reset, and finds it by id, username and email', async () => {
      const account = newAccount();
      expect(await accounts.insert(account)).toBe(true);
      const expected = { ...account, sessionGeneration: 0, resetTokenHash: null, resetExpiresAt: null };
      expect(await accounts.byId(account.id)).toEqual(expected);
      expect(await accounts.byUsername(account.username)).toEqual(expected);
      expect(await accounts.byEmail(account.email)).toEqual(expected);
      expect(await accounts.byId('user_nobody')).toBeUndefined();
      expect(await accounts.byUsername('nobody')).toBeUndefined();
      expect(await accounts.byEmail('nobody@example.test')).toBeUndefined();
    });

    it('matches names exactly (no case folding, no trailing spaces, no LIKE patterns)', async () => {
      const account = newAccount();
      await accounts.insert(account);
      for (const other of [account.username.toUpperCase(), `${account.username} `, `${account.username.slice(0, -1)}%`, `${account.username.slice(0, -1)}_`]) {
        expect(await accounts.byUsername(other)).toBeUndefined();
      }
      expect(await accounts.byUsername('ü'.repeat(40))).toBeUndefined();
    });

    it('refuses a taken username or email (false, nothing changed); one of many concurrent sign-ups wins', async () => {
      const first = newAccount();
      expect(await accounts.insert(first)).toBe(true);
      expect(await accounts.insert(newAccount({ username: first.username }))).toBe(false);
      expect(await accounts.insert(newAccount({ email: first.email }))).toBe(false);
      expect((await accounts.byUsername(first.username))!.id).toBe(first.id);

      const username = newAccount().username;
      const results = await Promise.all(Array.from({ length: 8 }, () => accounts.insert(newAccount({ username, email: `${randomBytes(4).toString('hex')}@example.test` }))));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('replaces the password hash; with `expected`, only over that hash', async () => {
      const account = newAccount();
      await accounts.insert(account);
      expect(await accounts.setPasswordHash(account.id, '$argon2id$new')).toBe(true);
      expect(await accounts.setPasswordHash(account.id, '$argon2id$rehash', account.passwordHash)).toBe(false);
      expect((await accounts.byId(account.id))!.passwordHash).toBe('$argon2id$new');
      expect(await accounts.setPasswordHash(account.id, '$argon2id$rehash', '$argon2id$new')).toBe(true);
      expect((await accounts.byId(account.id))!.passwordHash).toBe('$argon2id$rehash');
      expect(await accounts.setPasswordHash('user_nobody', '$argon2id$x')).toBe(false);
    });

    it('keeps one reset token; takes it once, only while unexpired, only the newest', async () => {
      const account = newAccount();
      await accounts.insert(account);
      const now = Date.UTC(2025, 0, 1);
      const older = 'a'.repeat(64);
      const newer = 'b'.repeat(64);
      await accounts.setReset(account.id, older, now + 60_000);
      await accounts.setReset(account.id, newer, now + 60_000);
      expect(await accounts.byId(account.id)).toMatchObject({ resetTokenHash: newer, resetExpiresAt: now + 60_000 });
      expect(await accounts.takeReset(account.id, older, now)).toBe(false);
      expect(await accounts.takeReset(account.id, newer, now + 60_000)).toBe(false); // expired at its expiry
      const taken = await Promise.all(Array.from({ length: 10 }, () => accounts.takeReset(account.id, newer, now)));
      expect(taken.filter(Boolean)).toHaveLength(1);
      expect(await accounts.byId(account.id)).toMatchObject({ resetTokenHash: null, resetExpiresAt: null });
      expect(await accounts.takeReset(account.id, newer, now)).toBe(false);
    });

    it('counts every bump of the session generation, concurrent ones too', async () => {
      const account = newAccount();
      await accounts.insert(account);
      expect(await accounts.bumpGeneration(account.id)).toBe(1);
      const values = await Promise.all(Array.from({ length: 20 }, () => accounts.bumpGeneration(account.id)));
      expect([...values].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
      expect((await accounts.byId(account.id))!.sessionGeneration).toBe(21);
      expect(await accounts.bumpGeneration('user_nobody')).toBeUndefined();
    });

    it('notes the last completed email recovery (issue 14.11): the token hash, when, and "set it up again" until cleared', async () => {
      const account = newAccount();
      await accounts.insert(account);
      expect(await accounts.emailRecoveryOf(account.id)).toBeUndefined();
      const at = Date.UTC(2025, 0, 1);
      await accounts.noteEmailRecovery(account.id, 'a'.repeat(64), at);
      expect(await accounts.emailRecoveryOf(account.id)).toEqual({ tokenHash: 'a'.repeat(64), completedAt: at, setUpAgain: true });
      await accounts.clearSetUpAgain(account.id);
      expect(await accounts.emailRecoveryOf(account.id)).toEqual({ tokenHash: 'a'.repeat(64), completedAt: at, setUpAgain: false });
      // A later recovery replaces the note and asks again.
      await accounts.noteEmailRecovery(account.id, 'b'.repeat(64), at + 1000);
      expect(await accounts.emailRecoveryOf(account.id)).toEqual({ tokenHash: 'b'.repeat(64), completedAt: at + 1000, setUpAgain: true });
      await accounts.clearSetUpAgain('user_nobody');
      expect(await accounts.emailRecoveryOf('user_nobody')).toBeUndefined();
    });
  });
}

accountStoreContract('memory', null, async () => ({ accounts: new MemoryAccountStore(), cleanup: async () => {} }));
for (const engine of engines) {
  accountStoreContract(engine.name, engine.skip, async () => {
    const { stores, cleanup } = await engine.open();
    return { accounts: stores.accounts, cleanup };
  });
}

// --- sessions ----------------------------------------------------------------

const HOUR = 3_600_000;
function sessionData(expiresAt: number, extra: Record<string, unknown> = {}): session.SessionData {
  return { cookie: { originalMaxAge: expiresAt - Date.now(), expires: new Date(expiresAt), httpOnly: true, path: '/' }, ...extra } as unknown as session.SessionData;
}

function call<T>(run: (callback: (error: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
}

/** The session, or null (connect-pg-simple answers a missing one with undefined, the others with null). */
const get = async (store: session.Store, sid: string) => (await call<session.SessionData | null>((cb) => store.get(sid, cb))) ?? null;
const set = (store: session.Store, sid: string, data: session.SessionData) => call<void>((cb) => store.set(sid, data, cb));
const touch = (store: session.Store, sid: string, data: session.SessionData) => call<void>((cb) => store.touch!(sid, data, cb as () => void));
const destroy = (store: session.Store, sid: string) => call<void>((cb) => store.destroy(sid, cb));

const sessionEngines: Engine[] = [...engines, { name: 'Redis (with SQLite accounts)', skip: redisSkip, open: onDatabase(freshSqlite, REDIS_URL) }];

// Concurrent: each engine's expiry test waits a few seconds of real time.
describe.concurrent('session stores', () => {
  for (const engine of sessionEngines) {
    describe.skipIf(engine.skip !== null)(`the session store on ${engine.name}`, () => {
      let stores: OpenStores;
      let config: StoresConfig;
      let cleanup: () => Promise<void> = async () => {};
      const sids: string[] = [];
      const sid = () => {
        const id = randomBytes(24).toString('base64url');
        sids.push(id);
        return id;
      };
      beforeAll(async () => {
        ({ stores, config, cleanup } = await engine.open());
      });
      afterAll(async () => {
        for (const id of sids) await destroy(stores.sessions, id).catch(() => {});
        await cleanup();
      });

      it('keeps a session until it is destroyed; unknown ids give null', async () => {
        const id = sid();
        const data = sessionData(Date.now() + HOUR, { userId: 'user_1', csrfToken: 'tok', flash: { kind: 'info', text: 'héllo <b>' } });
        await set(stores.sessions, id, data);
        expect(await get(stores.sessions, id)).toEqual(JSON.parse(JSON.stringify(data)));
        await set(stores.sessions, id, sessionData(Date.now() + HOUR, { userId: 'user_2' }));
        expect(await get(stores.sessions, id)).toMatchObject({ userId: 'user_2' });
        await destroy(stores.sessions, id);
        expect(await get(stores.sessions, id)).toBeNull();
        expect(await get(stores.sessions, sid())).toBeNull();
      });

      it('never returns a session whose cookie has expired; touch moves the expiry', async () => {
        const id = sid();
        await set(stores.sessions, id, sessionData(Date.now() + 1000));
        await touch(stores.sessions, id, sessionData(Date.now() + HOUR));
        const expiring = sid();
        await set(stores.sessions, expiring, sessionData(Date.now() + 1000));
        // More than a second past the expiry: connect-pg-simple keeps whole seconds, rounded up.
        await new Promise((resolve) => setTimeout(resolve, 2600));
        expect(await get(stores.sessions, expiring)).toBeNull();
        expect(await get(stores.sessions, id)).not.toBeNull();
      });

      it('sessions written by one store are read by another on the same database (another app process)', async () => {
        const id = sid();
        await set(stores.sessions, id, sessionData(Date.now() + HOUR, { userId: 'user_shared' }));
        const other = await openStores(config);
        try {
          expect(await get(other.sessions, id)).toMatchObject({ userId: 'user_shared' });
        } finally {
          await other.close();
        }
      });
    });
  }
});

describe.skipIf(redisSkip !== null)('Redis sessions', () => {
  it('are keys under example:sess: that Redis expires when the cookie does', async () => {
    const database = freshSqlite();
    const stores = await openStores({ database: database.config, redis: REDIS_URL });
    const redis = new Redis(REDIS_URL);
    const id = randomBytes(24).toString('base64url');
    try {
      await set(stores.sessions, id, sessionData(Date.now() + HOUR));
      const ttl = await redis.pttl(`${SESSION_KEY_PREFIX}${id}`);
      expect(ttl).toBeGreaterThan(HOUR - 60_000);
      expect(ttl).toBeLessThanOrEqual(HOUR);
    } finally {
      await redis.del(`${SESSION_KEY_PREFIX}${id}`);
      await redis.quit();
      await stores.close();
      await database.drop();
    }
  });
});
