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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percentile(values: number[], p: number): number {
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
  const runRound = async (ms: number, latencies: number[] | null) => {
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
  };
  await runRound(roundMs, null);
  const rates: number[] = [];
  const latencies: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push(await runRound(roundMs, latencies));
  return { name, opsPerSec: median(rates), medianUs: median(latencies), p99Us: percentile(latencies, 99) };
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
