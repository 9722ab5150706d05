/**
 * The example host under load (autocannon, 10 connections): `POST /login/mfa`
 * with valid, fresh codes on pre-made pending-MFA sessions, beside a plain
 * `GET /` on the same server as the baseline. The server runs in a child
 * process so autocannon does not share its event loop.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const CONNECTIONS = 10;

interface Prepared {
  base: string;
  work: Array<{ cookie: string; body: string }>;
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

export async function benchHttp(): Promise<void> {
  const child = fork(fileURLToPath(new URL('./http-server.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const t0 = performance.now();
    const prepared = await new Promise<Prepared>((resolve, reject) => {
      child.once('message', (message) => resolve(message as Prepared));
      child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    });
    const setupSeconds = (performance.now() - t0) / 1000;

    const baseline = await run({ url: `${prepared.base}/`, connections: CONNECTIONS, duration: 5 });

    let next = 0;
    const started = performance.now();
    const verify = await run({
      url: `${prepared.base}/login/mfa`,
      connections: CONNECTIONS,
      amount: prepared.work.length,
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            const item = prepared.work[next++ % prepared.work.length]!;
            return {
              ...request,
              headers: { ...request.headers, cookie: item.cookie, 'content-type': 'application/x-www-form-urlencoded' },
              body: item.body,
            };
          },
        },
      ],
    });
    const elapsedSeconds = (performance.now() - started) / 1000;
    const signedIn = Number((verify.statusCodeStats as Record<string, { count: number }>)['303']?.count ?? 0);
    if (signedIn !== prepared.work.length) {
      throw new Error(`only ${signedIn} of ${prepared.work.length} POST /login/mfa signed in (status codes: ${JSON.stringify(verify.statusCodeStats)})`);
    }

    const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    console.log(`\n## Example host over HTTP (autocannon, ${CONNECTIONS} connections)\n`);
    console.log(`${prepared.work.length} users prepared in ${setupSeconds.toFixed(1)} s (enrolled, password step done over HTTP).\n`);
    console.log('| case | requests | req/s | p50 ms | p99 ms | ratio to GET / |');
    console.log('|---|---:|---:|---:|---:|---:|');
    console.log(`| GET / (baseline, 5 s) | ${fmt(baseline.requests.total)} | ${fmt(baseline.requests.average)} | ${fmt(baseline.latency.p50, 1)} | ${fmt(baseline.latency.p99, 1)} | |`);
    const rps = verify.requests.total / elapsedSeconds;
    console.log(
      `| POST /login/mfa (valid fresh code, all 303 → /account) | ${fmt(verify.requests.total)} | ${fmt(rps)} | ${fmt(verify.latency.p50, 1)} | ${fmt(verify.latency.p99, 1)} | ${fmt(rps / baseline.requests.average, 2)}× |`,
    );
  } finally {
    child.disconnect();
    child.kill();
  }
}
