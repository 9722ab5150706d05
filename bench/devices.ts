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
import { printTable, type Result } from './harness.ts';
import { enrollFleet, type Fleet } from './service.ts';

const USERS = 2_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

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
  rates: number[];
  latencies: number[];
}

/** One pass over the fleet, sequentially; records the rate (and latencies unless warming up). */
async function pass(fleet: Fleet, c: Case, record: boolean): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < fleet.users.length; i++) {
    const s = performance.now();
    await c.call(i);
    if (record) c.latencies.push((performance.now() - s) * 1000);
  }
  if (record) c.rates.push((fleet.users.length * 1000) / (performance.now() - t0));
}

function resultOf(c: Case): Result {
  return { name: c.name, opsPerSec: median(c.rates), medianUs: median(c.latencies), p99Us: percentile(c.latencies, 99) };
}

export async function benchDevices(): Promise<void> {
  const fleet = await enrollFleet(USERS, undefined, 'device-user');
  const tokens = await rememberEveryone(fleet);
  let skipped = 0;
  const plain: Case = {
    name: 'startLogin, no device token (memory)',
    rates: [],
    latencies: [],
    call: async (i) => {
      const result = await fleet.mfa.startLogin(fleet.users[i]!.id);
      if (!result.ok || !result.mfaRequired) throw new Error('startLogin without a token did not ask for MFA');
    },
  };
  const device: Case = {
    name: 'startLogin, live device token, rotated (memory)',
    rates: [],
    latencies: [],
    call: async (i) => {
      const result = await fleet.mfa.startLogin(fleet.users[i]!.id, { deviceToken: tokens[i]! });
      if (!result.ok || result.mfaRequired || !result.rememberedDevice) throw new Error(`device login refused: ${JSON.stringify(result)}`);
      tokens[i] = result.rememberedDevice.token;
      skipped++;
    },
  };
  // A warm-up pass of each, then alternating rounds so both see the same machine state.
  await pass(fleet, plain, false);
  await pass(fleet, device, false);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [plain, device] : [device, plain];
    for (const c of order) await pass(fleet, c, true);
  }
  if (skipped !== USERS * (ROUNDS + 1)) throw new Error(`expected ${USERS * (ROUNDS + 1)} device logins, got ${skipped}`);
  const base = resultOf(plain);
  const withToken = resultOf(device);
  printTable(`Remembered devices (${USERS.toLocaleString('en-US')} users, memory stores)`, [
    { result: base },
    { result: withToken, baseline: base, target: '≥ 0.5×' },
  ]);
}
