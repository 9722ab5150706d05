/**
 * Remembered devices over the memory stores: `startLogin` with a live device
 * token — the token check (HMAC), a new token, and the compare-and-set write
 * that rotates it — against `startLogin` without one (a signed challenge, no
 * write) for the same fleet, in alternating rounds of the same run. Each call
 * rotates the token, so the one it returns is fed back for the next round;
 * every device login must skip the second factor and every plain one must ask
 * for it, or the bench aborts.
 */
import { generateTotp } from '../src/index.ts';
import { alternatePairs, median, percentile, printPaired, printTable, type Result } from './harness.ts';
import { enrollFleet, type Fleet } from './service.ts';

const USERS = 2_000;
const PAIRS = Number(process.env.BENCH_PAIRS_ASYNC ?? 15);

/** Each user logs in once with a fresh code and remembers this browser: the device token of each. */
async function rememberEveryone(fleet: Fleet): Promise<string[]> {
  fleet.clock.now += 30_000; // the enrollment spent the current step
  const tokens: string[] = [];
  for (const user of fleet.users) {
    const start = await fleet.mfa.startLogin(user.id);
    if (!start.ok || !start.mfaRequired) throw new Error('startLogin did not ask for MFA');
    const verified = await fleet.mfa.verifyLogin(start.challenge, { totp: generateTotp(user.secret, { now: fleet.clock.now }) }, { rememberDevice: { label: 'Bench' } });
    if (!verified.ok || !verified.device) throw new Error('verifyLogin did not remember the device');
    tokens.push(verified.device.token);
  }
  return tokens;
}

interface Case {
  name: string;
  /** One call for user `i`; throws unless it gave the expected answer. */
  call: (i: number) => Promise<void>;
  /** Passes over the fleet so far (the warm-up pair's included). */
  passes: number;
  latencies: number[];
}

/** Passes over the fleet per measurement: two, so that each half of a pair lasts a few tens of milliseconds. */
const PASSES = 2;

/** PASSES passes over the fleet, sequentially: their rate; each call's latency is recorded. */
async function pass(fleet: Fleet, c: Case): Promise<number> {
  const t0 = performance.now();
  for (let p = 0; p < PASSES; p++) {
    for (let i = 0; i < fleet.users.length; i++) {
      const s = performance.now();
      await c.call(i);
      c.latencies.push((performance.now() - s) * 1000);
    }
    c.passes++;
  }
  return (PASSES * fleet.users.length * 1000) / (performance.now() - t0);
}

export async function benchDevices(): Promise<void> {
  const fleet = await enrollFleet(USERS, undefined, 'device-user');
  const tokens = await rememberEveryone(fleet);
  let skipped = 0;
  const plain: Case = {
    name: 'startLogin, no device token (memory)',
    passes: 0,
    latencies: [],
    call: async (i) => {
      const result = await fleet.mfa.startLogin(fleet.users[i]!.id);
      if (!result.ok || !result.mfaRequired) throw new Error('startLogin without a token did not ask for MFA');
    },
  };
  const device: Case = {
    name: 'startLogin, live device token, rotated (memory)',
    passes: 0,
    latencies: [],
    call: async (i) => {
      const result = await fleet.mfa.startLogin(fleet.users[i]!.id, { deviceToken: tokens[i]! });
      if (!result.ok || result.mfaRequired || !result.rememberedDevice) throw new Error(`device login refused: ${JSON.stringify(result)}`);
      tokens[i] = result.rememberedDevice.token;
      skipped++;
    },
  };
  const paired = await alternatePairs(plain.name, () => pass(fleet, plain), device.name, () => pass(fleet, device), PAIRS);
  if (skipped !== USERS * device.passes) throw new Error(`expected ${USERS * device.passes} device logins, got ${skipped}`);
  // Latencies without the warm-up pair's passes.
  const resultOf = (c: Case, opsPerSec: number): Result => {
    const measured = c.latencies.slice(PASSES * USERS);
    return { name: c.name, opsPerSec, medianUs: median(measured), p99Us: percentile(measured, 99) };
  };
  const base = resultOf(plain, paired.baseline.opsPerSec);
  printTable(`Remembered devices (${USERS.toLocaleString('en-US')} users, memory stores; median rates of the pairs below)`, [
    { result: base },
    { result: resultOf(device, paired.candidate.opsPerSec), baseline: base },
  ]);
  printPaired('Remembered devices: startLogin with a live device token against without one, paired passes (the target)', [{ paired, target: '≥ 0.5×' }]);
}
