/**
 * `npm run bench`: every benchmark in one process, so that ratios compare
 * figures measured in the same run on the same (shared, noisy) machine.
 * Sections: primitives, service, webauthn, devices, adapters, http, memory (in a process of its own
 * unless it runs alone); run a subset with
 * BENCH_ONLY=primitives,service (comma-separated).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchPrimitives } from './primitives.ts';
import { benchAdapters } from './adapters.ts';
import { benchDevices } from './devices.ts';
import { benchHttp } from './http.ts';
import { benchMemory, benchService } from './service.ts';
import { benchWebAuthn } from './webauthn.ts';

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const wants = (name: string) => !only || only.includes(name);

// The memory section of a run with other sections is this file again in a process of its own (see below).
const memoryChild = process.env.BENCH_MEMORY_CHILD === '1';
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
if (!memoryChild) {
  console.log(`# twofold benchmarks\n`);
  console.log(`node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} × ${cpu}, ${new Date().toISOString()}`);
}

if (wants('primitives')) await benchPrimitives();
if (wants('service')) await benchService();
if (wants('webauthn')) await benchWebAuthn();
if (wants('devices')) await benchDevices();
if (wants('adapters')) await benchAdapters();
if (wants('http')) await benchHttp();
if (wants('memory')) {
  if (memoryChild || (only?.length === 1 && only[0] === 'memory')) await benchMemory();
  else {
    // After the other sections, buffers they left are still being freed, and
    // freeing them shrinks `external` while users are enrolled (one run read
    // external -5.3 MB): the memory held is measured in a fresh process.
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_ONLY: 'memory', BENCH_MEMORY_CHILD: '1' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`the memory section failed (exit ${child.status ?? child.signal})`);
  }
}
