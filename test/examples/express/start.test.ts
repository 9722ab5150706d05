/**
 * `npm start` as a newcomer runs it: the real package.json script, on an
 * ephemeral port (PORT=0), with and without TWOFOLD_SECRET_KEY. Each server
 * runs in its own process group (npm → sh → node), killed as a whole in
 * afterAll so no server outlives the test.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmStart, START_TIMEOUT_MS, stop, stopAll, type Started } from './npm-start.ts';

const KEY_WARNING = 'warning: TWOFOLD_SECRET_KEY is not set';

afterAll(async () => {
  await stopAll();
});

describe('npm start', () => {
  let withoutKey: Started;
  let withKey: Started;

  beforeAll(async () => {
    [withoutKey, withKey] = await Promise.all([
      npmStart({ TWOFOLD_SECRET_KEY: undefined }),
      npmStart({ TWOFOLD_SECRET_KEY: randomBytes(32).toString('base64') }),
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

  it('warns that the key is random when TWOFOLD_SECRET_KEY is absent', async () => {
    await expect.poll(() => withoutKey.stderr(), { timeout: 5_000 }).toContain(KEY_WARNING);
    expect(withoutKey.stderr()).toContain('export TWOFOLD_SECRET_KEY=$(openssl rand -base64 32)');
  });

  it('does not warn about the key when TWOFOLD_SECRET_KEY is given', async () => {
    // The warning would have been written before the "listening" line; the fetch above gave stderr time to arrive.
    await fetch(`${withKey.baseUrl}/`);
    expect(withKey.stderr()).not.toContain('TWOFOLD_SECRET_KEY');
    // SESSION_SECRET was not given: that warning is still there, so stderr was read.
    expect(withKey.stderr()).toContain('warning: SESSION_SECRET is not set');
  });

  it('stops completely when its process group is killed (no stray server)', async () => {
    const server = await npmStart({});
    await stop(server.child);
    await expect(fetch(`${server.baseUrl}/`)).rejects.toThrow();
  }, START_TIMEOUT_MS + 10_000);
});
