/**
 * `npm start` as a newcomer runs it: the real package.json script, on an
 * ephemeral port (PORT=0). Each server runs in its own process group
 * (npm → sh → node), so `stop` kills it as a whole and no server outlives
 * a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const START_TIMEOUT_MS = 30_000;

export interface Started {
  child: ChildProcess;
  baseUrl: string;
  stdout: () => string;
  stderr: () => string;
}

/** Every server started, for `stopAll`. */
const running: ChildProcess[] = [];

/** `npm start` with `env` added to (or, when undefined, removed from) this process's environment; resolves once it listens. */
export async function npmStart(env: Record<string, string | undefined>): Promise<Started> {
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
export async function stop(child: ChildProcess): Promise<void> {
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

/** Stop every server started by `npmStart`. */
export function stopAll(): Promise<void[]> {
  return Promise.all(running.map(stop));
}
