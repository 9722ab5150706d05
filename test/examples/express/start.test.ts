/**
 * `npm start` as a newcomer runs it: the real package.json script, on an
 * ephemeral port (PORT=0), with no settings at all (everything in the
 * repository's `.data/example.db`, git-ignored, and the development secrets
 * in `.data/secrets.json`, as on a developer's machine) and with a key. Each
 * server runs in its own process group (npm → sh → node), killed as a whole
 * in afterAll so no server outlives the test.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSqlite } from './databases.ts';
import { npmStart, START_TIMEOUT_MS, stop, stopAll, type Started } from './npm-start.ts';

const KEY_WARNING = 'warning: TWOFOLD_SECRET_KEY is not set';
/** No setting from the environment of the test run. */
const NO_SETTINGS = { TWOFOLD_SECRET_KEY: undefined, SESSION_SECRET: undefined, DATABASE_URL: undefined, DATABASE_SCHEMA: undefined, REDIS_URL: undefined };
const elsewhere = freshSqlite();

afterAll(async () => {
  await stopAll();
  await elsewhere.drop();
});

describe('npm start', () => {
  let withoutKey: Started;
  let withKey: Started;

  beforeAll(async () => {
    [withoutKey, withKey] = await Promise.all([
      npmStart(NO_SETTINGS),
      npmStart({ ...NO_SETTINGS, ...elsewhere.env, TWOFOLD_SECRET_KEY: randomBytes(32).toString('base64') }),
    ]);
  }, START_TIMEOUT_MS + 5_000);

  it('serves the welcome page on the port it printed', async () => {
    for (const server of [withoutKey, withKey]) {
      const response = await fetch(`${server.baseUrl}/`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const body = await response.text();
      expect(body).toContain('<title>Welcome · twofold example</title>');
      expect(body).toContain('uses <strong>twofold</strong> for two-factor authentication');
      expect(body).toContain('href="/signup"');
      // Development mode: the dev outbox is linked, and its address printed.
      expect(body).toContain('href="/dev/outbox"');
      expect(server.stdout()).toContain(`emails go to the dev outbox: ${server.baseUrl}/dev/outbox`);
    }
  });

  it('with no settings, keeps accounts, sessions and MFA state in .data/example.db', async () => {
    for (const line of ['accounts', 'sessions', 'MFA state']) {
      await expect.poll(() => withoutKey.stdout(), { timeout: 5_000 }).toContain(`${line}: SQLite at .data/example.db`);
    }
  });

  it('says where the development secrets are kept when TWOFOLD_SECRET_KEY and SESSION_SECRET are absent, and that production must set them', async () => {
    await expect.poll(() => withoutKey.stderr(), { timeout: 5_000 }).toContain(`${KEY_WARNING}: using the development key kept in .data/secrets.json`);
    expect(withoutKey.stderr()).toContain('Production must set it: export TWOFOLD_SECRET_KEY=$(openssl rand -base64 32)');
    expect(withoutKey.stderr()).toContain('warning: SESSION_SECRET is not set: using the development secret kept in .data/secrets.json');
  });

  it('refuses to start in production without the secrets (never a generated one there)', async () => {
    const refused = npmStart({ ...NO_SETTINGS, ...elsewhere.env, NODE_ENV: 'production', PUBLIC_URL: 'https://app.example.com' });
    await expect(refused).rejects.toThrow(/exited \(1\) before listening[\s\S]*TWOFOLD_SECRET_KEY is required when NODE_ENV=production/);
  }, START_TIMEOUT_MS + 5_000);

  it('does not warn about the key when TWOFOLD_SECRET_KEY is given', async () => {
    // The warning would have been written before the "listening" line; the fetch above gave stderr time to arrive.
    await fetch(`${withKey.baseUrl}/`);
    expect(withKey.stderr()).not.toContain('TWOFOLD_SECRET_KEY');
    // SESSION_SECRET was not given: that warning is still there (the file beside the database), so stderr was read.
    expect(withKey.stderr()).toContain('warning: SESSION_SECRET is not set');
    expect(withKey.stdout()).toContain(`accounts: SQLite at ${elsewhere.config.kind === 'sqlite' ? elsewhere.config.file : ''}`);
  });

  it('stops completely when its process group is killed (no stray server)', async () => {
    const server = await npmStart({ ...NO_SETTINGS, ...elsewhere.env });
    await stop(server.child);
    await expect(fetch(`${server.baseUrl}/`)).rejects.toThrow();
  }, START_TIMEOUT_MS + 10_000);
});
