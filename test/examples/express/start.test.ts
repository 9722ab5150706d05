/**
 * `npm start` as a newcomer runs it: the real package.json script, on an
 * ephemeral port (PORT=0), with and without TWOFOLD_SECRET_KEY. Each server
 * runs in its own process group (npm → sh → node), killed as a whole in
 * afterAll so no server outlives the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const KEY_WARNING = 'warning: TWOFOLD_SECRET_KEY is not set';

interface Started {
  child: ChildProcess;
  baseUrl: string;
  stdout: () => string;
  stderr: () => string;
}

const running: ChildProcess[] = [];

/** `npm start` with `env` added to (or, when undefined, removed from) this process's environment; resolves once it listens. */
async function npmStart(env: Record<string, string | undefined>): Promise<Started> {
  const merged: NodeJS.ProcessEnv = { ...process.env, PORT: '0', NODE_ENV: 'development', ...env };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  // detached: a new process group, so afterAll can kill npm and the node server it starts in one go.
  const child = spawn('npm', ['start'], { cwd: ROOT, env: merged, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`npm start did not print "listening on" within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const onData = () => {
      const match = /twofold example listening on (http:\/\/localhost:(\d+))/.exec(stdout);
      if (match && Number(match[2]) > 0) finish(null, match[1]!);
    };
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`npm start exited (${code ?? signal}) before listening`));
    function finish(error: Error | null, url?: string) {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(new Error(`${error.message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
      else resolve(url!);
    }
    child.stdout!.on('data', onData);
    child.on('exit', onExit);
    child.on('error', (error) => finish(error));
  });
  return { child, baseUrl, stdout: () => stdout, stderr: () => stderr };
}

/** SIGTERM to the whole process group, SIGKILL if it lingers; resolves when npm has exited. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return; // the group is already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

afterAll(async () => {
  await Promise.all(running.map(stop));
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
