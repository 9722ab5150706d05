/**
 * `npm run bench`: every benchmark in one process, so that ratios compare
 * figures measured in the same run on the same (shared, noisy) machine.
 * Sections: primitives, service, webauthn, devices, adapters, http, memory; run a subset with
 * BENCH_ONLY=primitives,service (comma-separated).
 */
import os from 'node:os';
import { benchPrimitives } from './primitives.ts';
import { benchAdapters } from './adapters.ts';
import { benchDevices } from './devices.ts';
import { benchHttp } from './http.ts';
import { benchMemory, benchService } from './service.ts';
import { benchWebAuthn } from './webauthn.ts';

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const wants = (name: string) => !only || only.includes(name);

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`# twofold benchmarks\n`);
console.log(`node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} × ${cpu}, ${new Date().toISOString()}`);

if (wants('primitives')) await benchPrimitives();
if (wants('service')) await benchService();
if (wants('webauthn')) await benchWebAuthn();
if (wants('devices')) await benchDevices();
if (wants('adapters')) await benchAdapters();
if (wants('http')) await benchHttp();
if (wants('memory')) await benchMemory();
