/**
 * A small, honest benchmark harness: each case runs in rounds of a fixed
 * wall-clock budget, and the median round is reported. Ratios are taken
 * between cases measured in the same process and run, because the machines
 * are shared and absolute figures drift between runs.
 */

export interface Result {
  name: string;
  /** Median operations per second over the rounds. */
  opsPerSec: number;
  /** Median latency of one operation, in microseconds. */
  medianUs: number;
  /** 99th percentile latency, microseconds (only for per-op timed async cases). */
  p99Us?: number;
}

export interface MeasureOptions {
  /** Rounds to run; the median is reported. */
  rounds?: number;
  /** Wall-clock budget of one round, in milliseconds. */
  roundMs?: number;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 300);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Sink that keeps the optimiser from dropping benchmarked work. */
export let sink: unknown;

/** Measure a synchronous function. */
export function measureSync(name: string, fn: () => unknown, options: MeasureOptions = {}): Result {
  const rounds = options.rounds ?? ROUNDS;
  const roundMs = options.roundMs ?? ROUND_MS;
  // Warm-up: let the JIT settle before anything is recorded.
  const warmEnd = performance.now() + roundMs;
  while (performance.now() < warmEnd) for (let i = 0; i < 100; i++) sink = fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const start = performance.now();
    const end = start + roundMs;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 100; i++) sink = fn();
      ops += 100;
      now = performance.now();
    }
    rates.push((ops * 1000) / (now - start));
  }
  const opsPerSec = median(rates);
  return { name, opsPerSec, medianUs: 1e6 / opsPerSec };
}

/** Measure an async function, one call at a time, recording each latency. */
export async function measureAsync(name: string, fn: () => Promise<unknown>, options: MeasureOptions = {}): Promise<Result> {
  const rounds = options.rounds ?? ROUNDS;
  const roundMs = options.roundMs ?? ROUND_MS;
  const warmEnd = performance.now() + roundMs;
  while (performance.now() < warmEnd) sink = await fn();
  const rates: number[] = [];
  const latencies: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const start = performance.now();
    const end = start + roundMs;
    let now = start;
    while (now < end) {
      const t0 = performance.now();
      sink = await fn();
      now = performance.now();
      latencies.push((now - t0) * 1000);
      ops++;
    }
    rates.push((ops * 1000) / (now - start));
  }
  return { name, opsPerSec: median(rates), medianUs: median(latencies), p99Us: percentile(latencies, 99) };
}

/**
 * Measure an async function at a given concurrency: `concurrency` workers
 * each await `fn` back to back for the round budget.
 */
export async function measureConcurrent(
  name: string,
  fn: () => Promise<unknown>,
  concurrency: number,
  options: MeasureOptions = {},
): Promise<Result> {
  const rounds = options.rounds ?? ROUNDS;
  const roundMs = options.roundMs ?? ROUND_MS;
  await concurrentRate(fn, concurrency, roundMs);
  const rates: number[] = [];
  const latencies: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push(await concurrentRate(fn, concurrency, roundMs, latencies));
  return { name, opsPerSec: median(rates), medianUs: median(latencies), p99Us: percentile(latencies, 99) };
}

/** `fn` run by `concurrency` workers back to back for about `ms`: its ops/s (each call's latency in µs pushed to `latencies`). */
export async function concurrentRate(fn: () => Promise<unknown>, concurrency: number, ms: number, latencies?: number[]): Promise<number> {
  let ops = 0;
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      sink = await fn();
      latencies?.push((performance.now() - t0) * 1000);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (ops * 1000) / (performance.now() - start);
}

/** `count` calls of `fn` by `concurrency` workers back to back: the elapsed milliseconds. */
export async function runCount(fn: () => Promise<unknown>, count: number, concurrency: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < count) {
      started++;
      sink = await fn();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return performance.now() - t0;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Print a table of results, each with its ratio to a named baseline. */
export function printTable(title: string, rows: Array<{ result: Result; baseline?: Result; target?: string }>): void {
  console.log(`\n## ${title}\n`);
  console.log('| case | ops/s | median µs | p99 µs | ratio | vs | target |');
  console.log('|---|---:|---:|---:|---:|---|---|');
  for (const { result, baseline, target } of rows) {
    const ratio = baseline ? `${fmt(result.opsPerSec / baseline.opsPerSec, 2)}×` : '';
    console.log(
      `| ${result.name} | ${fmt(result.opsPerSec)} | ${fmt(result.medianUs, 1)} | ${result.p99Us === undefined ? '' : fmt(result.p99Us, 1)} | ${ratio} | ${baseline?.name ?? ''} | ${target ?? ''} |`,
    );
  }
}

export interface PairedResult {
  baseline: Result;
  candidate: Result;
  /** Median over pairs of candidate ops/s ÷ baseline ops/s. */
  ratio: number;
  /** 25th and 75th percentile of the per-pair ratios. */
  ratioIqr: [number, number];
}

/**
 * Ratio of two synchronous cases measured in alternating short slices of
 * process CPU time, so that both see the same machine state; the median of
 * the per-pair ratios is reported. This is what the ratio targets are judged on.
 */
export function measurePaired(
  baselineName: string,
  baseline: () => unknown,
  candidateName: string,
  candidate: () => unknown,
  pairs = Number(process.env.BENCH_PAIRS ?? 61),
  sliceMs = 60,
): PairedResult {
  // Timed in process CPU time, so that moments when another tenant of the
  // shared machine has the core do not count against either side.
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const slice = (fn: () => unknown) => {
    let ops = 0;
    const start = cpuMs();
    const end = start + sliceMs;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 50; i++) sink = fn();
      ops += 50;
      now = cpuMs();
    }
    return (ops * 1000) / (now - start);
  };
  slice(baseline);
  slice(candidate);
  const base: number[] = [];
  const cand: number[] = [];
  for (let i = 0; i < pairs; i++) {
    // Alternate which goes first, so neither always gets the warmer slot.
    const [b, c] = i % 2 === 0 ? [slice(baseline), slice(candidate)] : (() => { const c2 = slice(candidate); return [slice(baseline), c2]; })();
    base.push(b);
    cand.push(c);
  }
  return pairedResult(baselineName, base, candidateName, cand);
}

/** The median rates and the median of the per-pair ratios (with its interquartile range) of rates measured in pairs. */
export function pairedResult(baselineName: string, base: readonly number[], candidateName: string, cand: readonly number[]): PairedResult {
  const ratios = cand.map((c, i) => c / base[i]!);
  const b = median([...base]);
  const c = median([...cand]);
  return {
    baseline: { name: baselineName, opsPerSec: b, medianUs: 1e6 / b },
    candidate: { name: candidateName, opsPerSec: c, medianUs: 1e6 / c },
    ratio: median(ratios),
    ratioIqr: [percentile(ratios, 25), percentile(ratios, 75)],
  };
}

/**
 * Two asynchronous measurements (each giving ops/s) in pairs, taken right
 * after each other with which goes first alternating, after one warm-up
 * pair; see pairedResult and {@link alternateRounds}.
 */
export async function alternatePairs(
  baselineName: string,
  baseline: () => number | Promise<number>,
  candidateName: string,
  candidate: () => number | Promise<number>,
  pairs: number,
): Promise<PairedResult> {
  const [base, cand] = (await alternateRounds([baseline, candidate], pairs)) as [number[], number[]];
  return pairedResult(baselineName, base, candidateName, cand);
}

/**
 * Several asynchronous measurements (each giving ops/s) in rounds: each
 * round takes one of each right after each other, the first of them moving
 * on by one every round (with two: which goes first alternates), after one
 * warm-up round. Resolves to each measurement's rates, one per round, so
 * that any two can be paired round by round (pairedResult). Each
 * measurement starts after a full collection (untimed, under --expose-gc),
 * so none pays for another's garbage: without it the memory login, timed
 * right after a raw HMAC slice that left some 36,000 native-backed Hmac
 * objects behind, read 31,000–36,000/s where the same rounds alone read
 * 50,000–58,000/s. Each measurement is long enough (thousands of calls,
 * tens of ms) to pay the collections of its own garbage.
 */
export async function alternateRounds(measurements: ReadonlyArray<() => number | Promise<number>>, rounds: number): Promise<number[][]> {
  const rates = measurements.map((): number[] => []);
  const n = measurements.length;
  for (let round = -1; round < rounds; round++) {
    const taken = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const i = (((round + k) % n) + n) % n;
      collectGarbage();
      taken[i] = await measurements[i]!();
    }
    if (round < 0) continue; // warm-up round
    taken.forEach((rate, i) => rates[i]!.push(rate));
  }
  return rates;
}

/**
 * Several loops over the same calls, interleaved in blocks of `block` calls:
 * `calls()` runs untimed before each round, prepares the round's work and
 * resolves to its number of calls; each of `loops(from, to)` runs calls
 * `[from, to)` and resolves to the milliseconds they took. Within a round the
 * calls are cut into blocks, each block run by every loop right after each
 * other, the first of them moving on by one every block (with two: which
 * goes first alternates), so that all see the same state of a database
 * server, its disk and the machine. Resolves to each loop's rates (calls per
 * second), one per round, after one warm-up round.
 */
export async function interleavedRounds(
  calls: () => Promise<number>,
  block: number,
  rounds: number,
  loops: ReadonlyArray<(from: number, to: number) => Promise<number>>,
): Promise<number[][]> {
  const n = loops.length;
  const rates = loops.map((): number[] => []);
  for (let round = -1; round < rounds; round++) {
    const count = await calls();
    const ms = loops.map(() => 0);
    for (let from = 0, b = 0; from < count; from += block, b++) {
      const to = Math.min(from + block, count);
      for (let k = 0; k < n; k++) {
        const i = (b + k) % n;
        ms[i]! += await loops[i]!(from, to);
      }
    }
    if (round < 0) continue; // warm-up round
    ms.forEach((elapsed, i) => rates[i]!.push((count * 1000) / elapsed));
  }
  return rates;
}

/** A full collection, untimed, where `--expose-gc` allows one (npm run bench passes it). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Print paired ratios against their targets. */
export function printPaired(title: string, rows: Array<{ paired: PairedResult; target: string }>): void {
  console.log(`\n## ${title}\n`);
  console.log('| case | ops/s | baseline | baseline ops/s | ratio (median of pairs) | IQR | target |');
  console.log('|---|---:|---|---:|---:|---|---|');
  for (const { paired, target } of rows) {
    console.log(
      `| ${paired.candidate.name} | ${fmt(paired.candidate.opsPerSec)} | ${paired.baseline.name} | ${fmt(paired.baseline.opsPerSec)} | ${fmt(paired.ratio, 2)}× | ${fmt(paired.ratioIqr[0], 2)}–${fmt(paired.ratioIqr[1], 2)} | ${target} |`,
    );
  }
}
