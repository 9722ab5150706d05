/**
 * Password hashing of the example host (passwords.ts, accounts.ts):
 * Argon2id with OWASP's parameters for every new password, the same Argon2id
 * work for an unknown username (a decoy hash), and the scrypt hashes of
 * before still signing in and upgraded to Argon2id at the next right
 * password, in memory and in the SQLite database `npm start` uses.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';

// Count Argon2id verifications (and see which hash each one checked), leaving them real.
const argon2Calls = vi.hoisted(() => ({ verified: [] as string[] }));
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  return {
    ...real,
    verify: (hashed: string, password: string) => {
      argon2Calls.verified.push(hashed);
      return real.verify(hashed, password);
    },
  };
});

import { MemoryAccountStore } from '../../../examples/express/account-store.ts';
import { Accounts } from '../../../examples/express/accounts.ts';
import { DEFAULT_ARGON2_COST, hashPassword, legacyScryptHash, needsRehash, verifyPassword } from '../../../examples/express/passwords.ts';
import { openStores } from '../../../examples/express/stores.ts';
import { freshSqlite } from './databases.ts';
import { Client, FAST_ARGON2, PASSWORD, signup, startServer, submitPassword, textOf, type TestServer } from './helpers.ts';

const CHEAP_SCRYPT = { N: 1024, r: 8, p: 1 };

describe('passwords.ts', () => {
  it('hashes with Argon2id and OWASP parameters by default: m=19456 KiB (19 MiB), t=2, p=1, a 16-byte salt', async () => {
    const hashed = await hashPassword(PASSWORD);
    expect(hashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(DEFAULT_ARGON2_COST).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(needsRehash(hashed)).toBe(false);
    const decoy = await hashPassword('decoy password', FAST_ARGON2);
    expect(await verifyPassword(hashed, PASSWORD, decoy)).toBe(true);
    expect(await verifyPassword(hashed, `${PASSWORD}!`, decoy)).toBe(false);
  });

  it('normalizes to NFKC: the same password typed as composed or decomposed characters matches', async () => {
    const decoy = await hashPassword('decoy password', FAST_ARGON2);
    const composed = 'caf\u00e9 au lait';
    const decomposed = 'cafe\u0301 au lait';
    expect(await verifyPassword(await hashPassword(composed, FAST_ARGON2), decomposed, decoy)).toBe(true);
    expect(await verifyPassword(await legacyScryptHash(decomposed, CHEAP_SCRYPT), composed, decoy)).toBe(true);
  });

  it('verifies the former scrypt format ($scrypt$ln=17,r=8,p=1$salt$hash, the old default cost) and asks for a re-hash', async () => {
    const old = await legacyScryptHash(PASSWORD);
    expect(old).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const decoy = await hashPassword('decoy password', FAST_ARGON2);
    expect(await verifyPassword(old, PASSWORD, decoy)).toBe(true);
    expect(await verifyPassword(old, 'wrong password', decoy)).toBe(false);
    expect(needsRehash(old)).toBe(true);
  });

  it('asks for a re-hash when the Argon2id parameters differ from the configured ones', async () => {
    const cheap = await hashPassword(PASSWORD, FAST_ARGON2);
    expect(needsRehash(cheap, FAST_ARGON2)).toBe(false);
    expect(needsRehash(cheap)).toBe(true);
  });

  it('never matches a stored value in no known format, after the decoy work', async () => {
    const decoy = await hashPassword('decoy password', FAST_ARGON2);
    argon2Calls.verified.length = 0;
    for (const junk of ['', PASSWORD, '$2b$10$abcdefghijklmnopqrstuv', '$argon2i$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA']) {
      expect(await verifyPassword(junk, PASSWORD, decoy)).toBe(false);
    }
    expect(argon2Calls.verified).toEqual([decoy, decoy, decoy, decoy]);
  });
});

describe('Accounts: equal work for unknown users', () => {
  it('checks an unknown username against the decoy hash: one Argon2id verification, as for a wrong password', async () => {
    const accounts = new Accounts(new MemoryAccountStore(), { passwordCost: FAST_ARGON2 });
    const created = await accounts.create('known-user', PASSWORD);
    expect(created.ok).toBe(true);
    const stored = (await accounts.store.byUsername('known-user'))!.passwordHash;

    argon2Calls.verified.length = 0;
    expect(await accounts.checkPassword('known-user', 'wrong password')).toBeNull();
    expect(argon2Calls.verified).toEqual([stored]);

    argon2Calls.verified.length = 0;
    expect(await accounts.checkPassword('nobody-here', 'wrong password')).toBeNull();
    expect(argon2Calls.verified).toHaveLength(1);
    const decoy = argon2Calls.verified[0]!;
    // The decoy is an Argon2id hash with the same parameters as a real one: the same work.
    expect(decoy).not.toBe(stored);
    expect(decoy.split('$').slice(0, 4)).toEqual(stored.split('$').slice(0, 4));

    // The re-checks of signed-in users (an id that no longer exists) and the password change too.
    argon2Calls.verified.length = 0;
    expect(await accounts.verifyPassword('user_gone', 'wrong password')).toBe(false);
    expect((await accounts.changePassword('user_gone', 'wrong password', 'a new password')).ok).toBe(false);
    expect(argon2Calls.verified).toEqual([decoy, decoy]);
  });

  it('makes the decoy with the default cost when none is given (19 MiB, t=2)', async () => {
    const accounts = new Accounts(new MemoryAccountStore());
    argon2Calls.verified.length = 0;
    expect(await accounts.checkPassword('nobody-here', 'wrong password')).toBeNull();
    expect(argon2Calls.verified[0]).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});

/** An account as the example stored it before Argon2id: a scrypt hash (the old default cost unless `cost`). */
async function plantLegacyAccount(server: TestServer, username: string, cost = CHEAP_SCRYPT): Promise<string> {
  const id = `user_legacy_${username}`;
  const inserted = await server.accounts.store.insert({ id, username, email: `${username}@example.test`, passwordHash: await legacyScryptHash(PASSWORD, cost) });
  if (!inserted) throw new Error('could not plant the account');
  return id;
}

describe('scrypt hashes from before: still sign in, upgraded to Argon2id at the next right password', () => {
  const servers: TestServer[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
    for (const cleanup of cleanups) await cleanup();
  });

  it('in memory: a wrong password leaves the old hash; the right one signs in and replaces it with Argon2id', async () => {
    const server = await startServer();
    servers.push(server);
    const id = await plantLegacyAccount(server, 'legacy-mem');
    const old = (await server.accounts.store.byId(id))!.passwordHash;

    const wrong = await submitPassword(new Client(server.baseUrl), { username: 'legacy-mem', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect((await server.accounts.store.byId(id))!.passwordHash).toBe(old);

    const c = new Client(server.baseUrl);
    expect(await submitPassword(c, { username: 'legacy-mem', password: PASSWORD })).toMatchObject({ status: 303, location: '/account' });
    expect(textOf((await c.get('/account')).body)).toContain('Signed in as legacy-mem');
    const upgraded = (await server.accounts.store.byId(id))!.passwordHash;
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=512,t=1,p=1\$/);

    // And the upgraded hash works from then on, and stays.
    expect(await submitPassword(new Client(server.baseUrl), { username: 'legacy-mem', password: PASSWORD })).toMatchObject({ location: '/account' });
    expect((await server.accounts.store.byId(id))!.passwordHash).toBe(upgraded);
  });

  it('in the SQLite database of npm start, with the old default cost (N=2^17): upgraded and kept there', async () => {
    const database = freshSqlite();
    const stores = await openStores({ database: database.config, redis: undefined });
    cleanups.push(async () => {
      await stores.close();
      await database.drop();
    });
    const server = await startServer({ stores, accounts: stores.accounts, sessionStore: stores.sessions, passwordCost: DEFAULT_ARGON2_COST });
    servers.push(server);
    const id = await plantLegacyAccount(server, 'legacy-sqlite', { N: 2 ** 17, r: 8, p: 1 });
    expect((await stores.accounts.byId(id))!.passwordHash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);

    const c = new Client(server.baseUrl);
    expect(await submitPassword(c, { username: 'legacy-sqlite', password: PASSWORD })).toMatchObject({ status: 303, location: '/account' });
    expect((await stores.accounts.byId(id))!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('the password re-check of a signed-in user (reauth) upgrades too; a password changed meanwhile is never overwritten', async () => {
    const accounts = new Accounts(new MemoryAccountStore(), { passwordCost: FAST_ARGON2 });
    const server = { accounts } as unknown as TestServer;
    const id = await plantLegacyAccount(server, 'legacy-reauth');
    expect(await accounts.verifyPassword(id, PASSWORD)).toBe(true);
    expect((await accounts.store.byId(id))!.passwordHash).toMatch(/^\$argon2id\$/);

    // The re-hash replaces only the hash it verified: here a password change lands between the two.
    const racing = await plantLegacyAccount(server, 'legacy-race');
    const store = accounts.store;
    const realById = store.byId.bind(store);
    store.byId = async (accountId) => {
      const record = await realById(accountId);
      if (accountId === racing) await store.setPasswordHash(racing, await hashPassword('changed meanwhile', FAST_ARGON2));
      return record;
    };
    expect(await accounts.verifyPassword(racing, PASSWORD)).toBe(true);
    store.byId = realById;
    expect(await accounts.checkPassword('legacy-race', 'changed meanwhile')).not.toBeNull();
    expect(await accounts.checkPassword('legacy-race', PASSWORD)).toBeNull();
  });

  it('new sign-ups get Argon2id (never scrypt)', async () => {
    const server = await startServer();
    servers.push(server);
    const user = await signup(new Client(server.baseUrl));
    expect((await server.accounts.store.byUsername(user.username))!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=512,t=1,p=1\$/);
  });
});
