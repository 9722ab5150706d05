/**
 * MfaService over the memory stores: verifyLogin (valid TOTP, fresh
 * challenge each time) and startLogin against the raw HMAC limit measured in
 * the same run, and the heap held by 100,000 enrolled users.
 */
import { createHmac } from 'node:crypto';
import { generateTotp, MemoryRecoveryCodeStore, MemoryUserStore, MfaService, type MfaServiceOptions } from '../src/index.ts';
import { alternatePairs, measureSync, median, percentile, printPaired, printTable, type PairedResult, type Result } from './harness.ts';

const SECRET_KEY = new Uint8Array(32).fill(9);
const START = 1_764_000_015_000;

export interface Fleet {
  mfa: MfaService;
  clock: { now: number };
  users: Array<{ id: string; secret: string }>;
}

/**
 * Enroll `count` users through the public API, on the given stores.
 * `Service`: the MfaService class to use (bench/before-after.ts passes an
 * earlier checkout's).
 */
export async function enrollFleet(
  count: number,
  stores?: Pick<MfaServiceOptions, 'users' | 'recoveryCodes'>,
  prefix = 'user',
  Service: typeof MfaService = MfaService,
): Promise<Fleet> {
  const clock = { now: START };
  const mfa = new Service({
    issuer: 'Bench',
    secretKey: SECRET_KEY,
    users: stores?.users ?? new MemoryUserStore(),
    recoveryCodes: stores?.recoveryCodes ?? new MemoryRecoveryCodeStore(),
    now: () => clock.now,
  });
  const users: Fleet['users'] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    const enrollment = await mfa.beginEnrollment(id, { accountName: `${id}@example.com` });
    if (!enrollment.ok) throw new Error(`enrollment failed: ${enrollment.reason}`);
    const confirmed = await mfa.confirmEnrollment(id, generateTotp(enrollment.secret, { now: clock.now }));
    if (!confirmed.ok) throw new Error(`confirm failed: ${confirmed.reason}`);
    const revealed = await mfa.revealRecoveryCodes(id);
    if (!revealed.ok) throw new Error(`reveal failed: ${revealed.reason}`);
    users.push({ id, secret: enrollment.secret });
  }
  return { mfa, clock, users };
}

/** One login's work: a fresh challenge and a valid, never-used code for it. */
export interface LoginWork {
  challenge: string;
  code: string;
}

/**
 * A round's work (untimed): moves the clock one TOTP step on, so that every
 * user has a step not yet used, and makes a challenge and a code for each.
 */
export async function prepareLogins(fleet: Fleet): Promise<LoginWork[]> {
  fleet.clock.now += 30_000;
  const work: LoginWork[] = [];
  for (const user of fleet.users) {
    const start = await fleet.mfa.startLogin(user.id);
    if (!start.ok || !start.mfaRequired) throw new Error('startLogin did not ask for MFA');
    work.push({ challenge: start.challenge, code: generateTotp(user.secret, { now: fleet.clock.now }) });
  }
  return work;
}

/**
 * Verifies `work[from, to)` with `concurrency` workers, each taking the next
 * item; every verification must succeed, or this throws. Resolves to the
 * elapsed milliseconds (each call's latency in µs pushed to `latencies`).
 */
export async function runLogins(fleet: Fleet, work: readonly LoginWork[], concurrency: number, from = 0, to = work.length, latencies?: number[]): Promise<number> {
  let next = from;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) {
        const item = work[next++]!;
        const s = performance.now();
        const result = await fleet.mfa.verifyLogin(item.challenge, { totp: item.code });
        latencies?.push((performance.now() - s) * 1000);
        if (!result.ok) failures++;
      }
    }),
  );
  const elapsed = performance.now() - t0;
  if (failures > 0) throw new Error(`${failures} verifications failed`);
  return elapsed;
}

/**
 * verifyLogin with a valid, never-used code on a fresh challenge, at a
 * given concurrency. Each round prepares every user's login (untimed, see
 * prepareLogins), then times only the verifications, after one warm-up round.
 */
export async function measureVerifyLogin(name: string, fleet: Fleet, concurrency: number, rounds = 7): Promise<Result> {
  const rates: number[] = [];
  const latencies: number[] = [];
  for (let round = -1; round < rounds; round++) {
    const work = await prepareLogins(fleet);
    const elapsed = await runLogins(fleet, work, concurrency, 0, work.length, round >= 0 ? latencies : undefined).catch((error: Error) => {
      throw new Error(`${name}: ${error.message}`);
    });
    if (round >= 0) rates.push((work.length * 1000) / elapsed);
  }
  const opsPerSec = median(rates);
  return { name, opsPerSec, medianUs: median(latencies), p99Us: percentile(latencies, 99) };
}

async function measureStartLogin(fleet: Fleet): Promise<Result> {
  const rates: number[] = [];
  for (let round = -1; round < 7; round++) {
    const t0 = performance.now();
    for (const user of fleet.users) await fleet.mfa.startLogin(user.id);
    if (round >= 0) rates.push((fleet.users.length * 1000) / (performance.now() - t0));
  }
  const opsPerSec = median(rates);
  return { name: 'startLogin (memory)', opsPerSec, medianUs: 1e6 / opsPerSec };
}

/** The raw limit for `steps` HMAC-SHA1 + truncation, as in the primitives bench. */
export function measureRaw(steps: number, options?: { rounds?: number; roundMs?: number }): Result {
  const key = Buffer.alloc(20, 7);
  const counter = Buffer.alloc(8);
  return measureSync(`raw node:crypto HMAC+truncate ×${steps}`, () => {
    let acc = 0;
    for (let i = 0; i < steps; i++) {
      counter.writeUInt32BE(58_800_000 + i, 4);
      const mac = createHmac('sha1', key).update(counter).digest();
      acc ^= (mac.readUInt32BE(mac[mac.length - 1]! & 0x0f) & 0x7fffffff) % 1_000_000;
    }
    return acc;
  }, options);
}

/**
 * verifyLogin against the raw ×3 HMAC limit in pairs: each pair times one
 * round of verifications (every user once, as in measureVerifyLogin) and a
 * slice of raw HMACs of about the same length right next to it, in
 * alternating order, so both see the same machine state; the median of the
 * per-pair ratios is reported, as for the verifyTotp targets.
 */
export async function measureVerifyLoginPaired(name: string, fleet: Fleet, pairs = Number(process.env.BENCH_PAIRS_ASYNC ?? 15)): Promise<PairedResult> {
  return alternatePairs(
    'raw node:crypto HMAC+truncate ×3',
    () => measureRaw(3, { rounds: 1, roundMs: 60 }).opsPerSec,
    name,
    async () => (await measureVerifyLogin(name, fleet, 1, 1)).opsPerSec,
    pairs,
  );
}

export async function benchService(): Promise<void> {
  const fleet = await enrollFleet(2_000);
  const raw3 = measureRaw(3);
  const verify = await measureVerifyLogin('verifyLogin (memory, valid TOTP, fresh challenge)', fleet, 1);
  const start = await measureStartLogin(fleet);
  printTable('MfaService over the memory stores', [
    { result: raw3 },
    { result: verify, baseline: raw3 },
    { result: start, baseline: raw3 },
  ]);
  const paired = await measureVerifyLoginPaired('verifyLogin (memory, valid TOTP, fresh challenge)', fleet);
  printPaired('verifyLogin against the raw limit, paired rounds (the target)', [{ paired, target: '≥ 0.4×' }]);
}

/** Heap held by `count` users enrolled through the service in the memory stores. */
export async function benchMemory(count = 100_000): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.log('\n## Memory\n\nskipped: run with node --expose-gc (npm run bench does)');
    return;
  }
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const fleet = await enrollFleet(count);
  const seconds = (performance.now() - t0) / 1000;
  fleet.users.length = 0; // the bench's own list of secrets is not part of the stores
  gc();
  const after = process.memoryUsage();
  const MB = 1024 * 1024;
  const heap = (after.heapUsed - before.heapUsed) / MB;
  // Off-heap: Buffers (the recovery-code hashes of MemoryRecoveryCodeStore live there).
  const external = (after.external - before.external) / MB;
  console.log('\n## Memory\n');
  console.log(`${count.toLocaleString('en-US')} users enrolled through MfaService (begin + confirm + reveal) in ${seconds.toFixed(1)} s (${((seconds * 1e6) / count).toFixed(0)} µs per user);`);
  console.log(`held by the service and memory stores after GC: heap ${heap.toFixed(1)} MB + external ${external.toFixed(1)} MB = ${(heap + external).toFixed(1)} MB (target < 200 MB), ${(((after.heapUsed - before.heapUsed) + (after.external - before.external)) / count).toFixed(0)} bytes/user`);
  // Keep the fleet reachable until measured.
  void fleet.mfa;
}
