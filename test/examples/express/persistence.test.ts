/**
 * "Your account survives a restart" (issue 11), with the example started
 * exactly as `npm start` starts it (npm-start.ts): sign up, turn MFA on,
 * stop the server, start it again on the same database, and log in with the
 * password and a code; the session signed in before the restart is still
 * signed in after it. On SQLite (the default setup: no secrets set, so they
 * come from the secrets file made at the first start), PostgreSQL and
 * MariaDB, each on a fresh file, schema or database.
 *
 * Then two example processes on one database (a SQLite file, PostgreSQL, MariaDB):
 * MFA turned on through one, the login through the other, and the code of
 * that login replayed at the first one is refused.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mysqlSkipReason, postgresSkipReason } from '../../support/services.ts';
import { freshMysql, freshPostgres, freshSqlite, type FreshDatabase } from './databases.ts';
import { Client, submitPassword, textOf } from './helpers.ts';
import { liveCode, loginLive, sameBrowser, signedInAs, signupAndEnrollLive } from './live.ts';
import { npmStart, START_TIMEOUT_MS, stop, stopAll, type Started } from './npm-start.ts';

const postgresSkip = await postgresSkipReason();
const mysqlSkip = await mysqlSkipReason();

/** Secrets for the shared engines, as every app server of a fleet would be given them. */
const SECRETS = { TWOFOLD_SECRET_KEY: '5a'.repeat(32), SESSION_SECRET: 'persistence-test-session-secret-'.repeat(2) };
/** Nothing about secrets from the environment of the test run. */
const NO_SECRETS = { TWOFOLD_SECRET_KEY: undefined, SESSION_SECRET: undefined, REDIS_URL: undefined };
/** Starting, stopping and starting again, plus the journey. */
const JOURNEY_TIMEOUT_MS = 2 * START_TIMEOUT_MS + 30_000;

const drops: Array<() => Promise<void>> = [];
afterAll(async () => {
  await stopAll();
  for (const drop of drops) await drop();
});

async function fresh(make: () => FreshDatabase | Promise<FreshDatabase>): Promise<FreshDatabase> {
  const database = await make();
  drops.push(database.drop);
  return database;
}

/** Sign up and turn MFA on; restart on the same database; the old session and a password + code login both work. */
async function survivesRestart(env: Record<string, string | undefined>, banner: string): Promise<{ first: Started; second: Started }> {
  const first = await npmStart(env);
  // Printed right after the "listening" line that npmStart waits for.
  await expect.poll(() => first.stdout(), { timeout: 5_000 }).toContain(`accounts: ${banner}`);
  const browser = new Client(first.baseUrl);
  const user = await signupAndEnrollLive(browser);
  expect(await signedInAs(browser, user.username)).toBe(true);
  await stop(first.child);
  await expect(fetch(`${first.baseUrl}/`)).rejects.toThrow();

  const second = await npmStart(env);
  await expect.poll(() => second.stdout(), { timeout: 5_000 }).toContain(`MFA state: ${banner}`);
  // The session of before the restart: kept in the database, its cookie signed with the same secret.
  const back = sameBrowser(browser, second.baseUrl);
  expect(await signedInAs(back, user.username)).toBe(true);
  await back.post('/logout', { _csrf: await back.csrf('/account') });
  expect(await signedInAs(back, user.username)).toBe(false);

  // The account, its password hash and its sealed TOTP secret survived: password, then a code.
  const login = await loginLive(back, user);
  expect(login).toMatchObject({ status: 303, location: '/account' });
  expect(await signedInAs(back, user.username)).toBe(true);
  // A wrong password is still wrong, and MFA is still asked for.
  expect((await submitPassword(new Client(second.baseUrl), { username: user.username, password: 'not the password' })).status).toBe(401);
  expect((await submitPassword(new Client(second.baseUrl), user)).location).toBe('/login/mfa');
  return { first, second };
}

describe('your account survives a restart (npm start, stop, npm start)', () => {
  it(
    'SQLite, the default setup: no secrets set, they are made once into secrets.json (0600) beside the database and reused',
    async () => {
      const database = await fresh(freshSqlite);
      const file = database.config.kind === 'sqlite' ? database.config.file : '';
      const secretsFile = join(file, '..', 'secrets.json');
      const { first, second } = await survivesRestart({ ...NO_SECRETS, ...database.env }, `SQLite at ${file}`);
      expect(first.stderr()).toContain(`warning: generated ${secretsFile} (mode 0600): development secrets, never for production`);
      expect(first.stderr()).toContain(`warning: TWOFOLD_SECRET_KEY is not set: using the development key kept in ${secretsFile}`);
      expect(first.stderr()).toContain('Production must set it: export TWOFOLD_SECRET_KEY=$(openssl rand -base64 32)');
      // The second start reads the file: nothing generated again.
      expect(second.stderr()).not.toContain('warning: generated');
      expect(second.stderr()).toContain(`using the development key kept in ${secretsFile}`);
      expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    },
    JOURNEY_TIMEOUT_MS,
  );

  it.skipIf(postgresSkip !== null)(
    'PostgreSQL (DATABASE_URL=postgres://…, a fresh DATABASE_SCHEMA)',
    async () => {
      const database = await fresh(freshPostgres);
      const { second } = await survivesRestart({ ...NO_SECRETS, ...SECRETS, ...database.env }, `PostgreSQL at `);
      expect(second.stderr()).not.toContain('secrets.json');
    },
    JOURNEY_TIMEOUT_MS,
  );

  it.skipIf(mysqlSkip !== null)(
    'MariaDB (DATABASE_URL=mysql://…, a fresh database)',
    async () => {
      const database = await fresh(freshMysql);
      await survivesRestart({ ...NO_SECRETS, ...SECRETS, ...database.env }, `MySQL at `);
    },
    JOURNEY_TIMEOUT_MS,
  );
});

/** MFA on through `a`, the login through `b`, the same code again at `a`: refused as used. */
async function twoProcesses(a: Started, b: Started): Promise<void> {
  const atA = new Client(a.baseUrl);
  const user = await signupAndEnrollLive(atA);

  // The session made by A is good at B (one session store, one secret)...
  expect(await signedInAs(sameBrowser(atA, b.baseUrl), user.username)).toBe(true);

  // ...and the login through B, with the password and the current code, works.
  const atB = new Client(b.baseUrl);
  const code = liveCode(user.secret);
  expect(await loginLive(atB, user, code)).toMatchObject({ status: 303, location: '/account' });
  expect(await signedInAs(atB, user.username)).toBe(true);

  // The same code at A: twofold's replay guard lives in the shared database.
  const replay = await loginLive(new Client(a.baseUrl), user, code);
  expect(replay.status).toBe(401);
  expect(textOf(replay.body)).toContain('That code was already used.');
}

describe('two example processes on one database', () => {
  it(
    'SQLite file: started together (one secrets file for both), MFA on through one, login through the other, a replayed code refused',
    async () => {
      const database = await fresh(freshSqlite);
      const [a, b] = await Promise.all([npmStart({ ...NO_SECRETS, ...database.env }), npmStart({ ...NO_SECRETS, ...database.env })]);
      await twoProcesses(a, b);
    },
    JOURNEY_TIMEOUT_MS,
  );

  it.skipIf(postgresSkip !== null)(
    'PostgreSQL: MFA on through one, login through the other, a replayed code refused',
    async () => {
      const database = await fresh(freshPostgres);
      const env = { ...NO_SECRETS, ...SECRETS, ...database.env };
      const [a, b] = await Promise.all([npmStart(env), npmStart(env)]);
      await twoProcesses(a, b);
    },
    JOURNEY_TIMEOUT_MS,
  );

  it.skipIf(mysqlSkip !== null)(
    'MariaDB: MFA on through one, login through the other, a replayed code refused',
    async () => {
      const database = await fresh(freshMysql);
      const env = { ...NO_SECRETS, ...SECRETS, ...database.env };
      const [a, b] = await Promise.all([npmStart(env), npmStart(env)]);
      await twoProcesses(a, b);
    },
    JOURNEY_TIMEOUT_MS,
  );
});
