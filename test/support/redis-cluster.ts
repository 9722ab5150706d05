/**
 * A throwaway 3-master Redis Cluster for the cluster tests, started from the
 * machine's redis-server on free loopback ports in a temporary folder, and
 * stopped afterwards. Under CI=true a missing redis-server is a failure.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface LocalCluster {
  /** Comma-separated host:port seeds. */
  seeds: string;
  stop(): Promise<void>;
}

/** Null (with a printed reason) when redis-server is not installed here; throws under CI. */
export function clusterSkipReason(): string | null {
  if (spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0) return null;
  const reason = 'redis-server / redis-cli not installed (Debian package redis-server)';
  if (process.env.CI === 'true') throw new Error(`CI=true: the Redis Cluster tests must run, but ${reason}`);
  console.warn(`skipping Redis Cluster tests: ${reason}`);
  return reason;
}

export async function startLocalCluster(masters = 3): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'twofold-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) ports.push(await freePort());
  const stop = async () => {
    await Promise.all(ports.map((port) => run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await run('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'yes',
        '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, `${port}.log`),
      ]);
    }
    for (const port of ports) {
      for (let attempt = 0; ; attempt++) {
        const ping = await run('redis-cli', ['-p', String(port), 'ping']).catch(() => null);
        if (ping?.stdout.trim() === 'PONG') break;
        if (attempt > 50) throw new Error(`redis-server on port ${port} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (let attempt = 0; ; attempt++) {
      const info = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info']);
      if (info.stdout.includes('cluster_state:ok')) break;
      if (attempt > 100) throw new Error('the Redis Cluster did not reach cluster_state:ok');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { seeds: ports.map((port) => `127.0.0.1:${port}`).join(','), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
