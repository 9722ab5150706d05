/**
 * Drive verify workers (test/support/verify-worker.ts) in separate Node
 * processes: each is set up, then all are told "go" at once, so their calls
 * really race on the shared database.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Proof, VerifyLoginResult } from 'twofold';

const WORKER = fileURLToPath(new URL('./verify-worker.ts', import.meta.url));

export interface WorkerPlan {
  /** Absolute path of a module exporting `makeStores(options) => Promise<{ users, recoveryCodes, close }>`. */
  storesModule: string;
  storesOptions: unknown;
  secretKey: string;
  now: number;
  lockout?: { maxFailures?: number; baseMs?: number; maxMs?: number; hardLimit?: number };
  work: Array<{ challenge: string; proof: Proof }>;
}

type Result = VerifyLoginResult | { error: string };

function once<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; error?: string }) => {
      if (message.type === type) {
        child.off('message', onMessage);
        resolve(message as T);
      } else if (message.type === 'error') reject(new Error(`worker failed: ${message.error}`));
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before '${type}'`)));
  });
}

/** Run every plan in its own process, all released together; the results per process, in plan order. */
export async function raceInProcesses(plans: WorkerPlan[], timeoutMs = 60_000): Promise<Result[][]> {
  const children = plans.map(() => fork(WORKER, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const timer = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), timeoutMs);
  try {
    const ready = children.map((child) => once(child, 'ready'));
    children.forEach((child, i) => child.send({ type: 'setup', ...plans[i] }));
    await Promise.all(ready);
    const done = children.map((child) => once<{ results: Result[] }>(child, 'results'));
    for (const child of children) child.send({ type: 'go' });
    return (await Promise.all(done)).map((message) => message.results);
  } finally {
    clearTimeout(timer);
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
