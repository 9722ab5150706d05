/**
 * Before and after, in one run: the verifyLogin benchmarks of issue 13
 * (valid TOTP, fresh challenge each; memory stores, and PostgreSQL at
 * concurrency 1 and 16 beside the raw SELECT + compare-and-set UPDATE loop)
 * over this tree and over an earlier checkout, alternating, so both sides
 * see the same machine. The earlier checkout needs this tree's
 * node_modules:
 *
 *   git worktree add /tmp/twofold-before <commit>
 *   ln -s "$PWD/node_modules" /tmp/twofold-before/node_modules
 *   BENCH_BEFORE=/tmp/twofold-before npm run bench:before-after
 *
 * Measured as the targets are in `npm run bench`, with the earlier tree as a
 * third side: over the memory stores, rounds of verifications by each tree
 * and a slice of raw HMACs, taken in turn (the first moving on every round,
 * a full collection before each); on PostgreSQL, blocks of calls of the raw
 * loop and of each tree's logins, taken in turn (the first moving on every
 * block). Each ratio is the median of its per-round ratios, with their
 * interquartile range. Enrolling 100,000 users (BENCH_ENROLL_USERS) is timed
 * in alternating chunks.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { PG_ROUNDS, pgBlock, rawPgLogin } from './adapters.ts';
import { alternateRounds, interleavedRounds, pairedResult, printPaired, runCount, type PairedResult } from './harness.ts';
import { enrollFleet, measureRaw, measureVerifyLogin, prepareLogins, runLogins, type Fleet, type LoginWork } from './service.ts';

const BEFORE = process.env.BENCH_BEFORE;
const USERS = Number(process.env.BENCH_ADAPTER_USERS ?? 2000);
/** Users each tree enrolls in the enrollment comparison (`BENCH_ENROLL_USERS=0` skips it). */
const ENROLL_USERS = Number(process.env.BENCH_ENROLL_USERS ?? 100_000);
const ENROLL_CHUNK = 5_000;
const POSTGRES_URL = process.env.TWOFOLD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** What the benchmark needs of a tree: the service, the memory stores and the PostgreSQL adapter. */
interface Tree {
  label: string;
  index: typeof import('../src/index.ts');
  postgres: typeof import('../src/stores/postgres/index.ts');
}

async function load(label: string, root: string): Promise<Tree> {
  return {
    label,
    index: (await import(resolve(root, 'src/index.ts'))) as Tree['index'],
    postgres: (await import(resolve(root, 'src/stores/postgres/index.ts'))) as Tree['postgres'],
  };
}

/** Enroll `count` users through a tree's public API (begin, confirm, reveal). */
function enroll(tree: Tree, count: number, stores: { users: unknown; recoveryCodes: unknown }): Promise<Fleet> {
  return enrollFleet(count, stores as never, tree.label, tree.index.MfaService as never);
}

/**
 * The three rows of a before-and-after comparison from rates taken round by
 * round: each tree against the baseline, and the later tree against the
 * earlier.
 */
function threeWay(names: [string, string, string], [base, before, after]: number[][], target: string): Array<{ paired: PairedResult; target: string }> {
  return [
    { paired: pairedResult(names[0], base!, names[1], before!), target: '' },
    { paired: pairedResult(names[0], base!, names[2], after!), target },
    { paired: pairedResult(names[1], before!, names[2], after!), target: '' },
  ];
}

async function main(): Promise<void> {
  if (!BEFORE) {
    console.log('\n## Before and after\n\nskipped: set BENCH_BEFORE to an earlier checkout (see bench/before-after.ts)');
    return;
  }
  const before = await load('before', BEFORE);
  const after = await load('after', resolve(import.meta.dirname, '..'));
  const trees = [before, after] as const;

  // Memory stores, concurrency 1, beside three raw HMACs.
  const memory = await Promise.all(trees.map((t) => enroll(t, USERS, { users: new t.index.MemoryUserStore(), recoveryCodes: new t.index.MemoryRecoveryCodeStore() })));
  const rawName = 'raw node:crypto HMAC+truncate ×3';
  const memoryRates = await alternateRounds(
    [
      () => measureRaw(3, { rounds: 1, roundMs: 60 }).opsPerSec,
      async () => (await measureVerifyLogin('before', memory[0]!, 1, 1)).opsPerSec,
      async () => (await measureVerifyLogin('after', memory[1]!, 1, 1)).opsPerSec,
    ],
    Number(process.env.BENCH_PAIRS_ASYNC ?? 15),
  );
  printPaired(
    `Before (${BEFORE}) and after: verifyLogin over the memory stores (valid TOTP, fresh challenge), rounds taken in turn`,
    threeWay([rawName, 'verifyLogin (memory) before', 'verifyLogin (memory) after'], memoryRates, '≥ 0.4×'),
  );

  if (ENROLL_USERS > 0) await compareEnrollment(trees);

  // PostgreSQL: one schema per tree, the raw loop on the "after" table.
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 16 });
  const schemas = trees.map(() => `twofold_bench_${randomBytes(4).toString('hex')}`);
  try {
    const fleets: Fleet[] = [];
    for (const [i, tree] of trees.entries()) {
      await tree.postgres.migrate(pool, { schema: schemas[i]! });
      fleets.push(
        await enroll(tree, USERS, {
          users: new tree.postgres.PostgresUserStore(pool, { schema: schemas[i]! }),
          recoveryCodes: new tree.postgres.PostgresRecoveryCodeStore(pool, { schema: schemas[i]! }),
        }),
      );
    }
    const table = `${schemas[1]}.twofold_users`;
    const ids = fleets[1]!.users.map((u) => u.id);
    const rows: Array<{ paired: PairedResult; target: string }> = [];
    for (const concurrency of [1, 16]) {
      const rawLoop = rawPgLogin(pool, table, ids);
      let work: LoginWork[][] = [];
      const rates = await interleavedRounds(
        async () => {
          work = [await prepareLogins(fleets[0]!), await prepareLogins(fleets[1]!)];
          return Math.min(work[0]!.length, work[1]!.length);
        },
        pgBlock(concurrency),
        PG_ROUNDS,
        [
          (from, to) => runCount(rawLoop, to - from, concurrency),
          (from, to) => runLogins(fleets[0]!, work[0]!, concurrency, from, to),
          (from, to) => runLogins(fleets[1]!, work[1]!, concurrency, from, to),
        ],
      );
      const names: [string, string, string] = [
        `raw pg: SELECT record + CAS UPDATE by key, concurrency ${concurrency}`,
        `verifyLogin postgres before, concurrency ${concurrency}`,
        `verifyLogin postgres after, concurrency ${concurrency}`,
      ];
      rows.push(...threeWay(names, rates, concurrency === 1 ? '≥ 0.8×' : '≥ 0.7×'));
    }
    printPaired(`Before and after: verifyLogin on PostgreSQL (${USERS} users), interleaved blocks`, rows);
  } finally {
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  }
}

/**
 * Enrolling ENROLL_USERS users (begin + confirm + reveal) with each tree
 * into its own memory stores, in alternating chunks of 5,000 (which tree
 * goes first alternates too), so both see the same machine and a heap that
 * grows alike; each tree's total time is the sum of its chunks.
 */
async function compareEnrollment(trees: readonly Tree[]): Promise<void> {
  const stores = trees.map((t) => ({ users: new t.index.MemoryUserStore(), recoveryCodes: new t.index.MemoryRecoveryCodeStore() }));
  const seconds = trees.map(() => 0);
  for (let done = 0, chunk = 0; done < ENROLL_USERS; done += ENROLL_CHUNK, chunk++) {
    const count = Math.min(ENROLL_CHUNK, ENROLL_USERS - done);
    for (const i of chunk % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = performance.now();
      await enrollFleet(count, stores[i] as never, `${trees[i]!.label}-${chunk}`, trees[i]!.index.MfaService as never);
      seconds[i]! += (performance.now() - t0) / 1000;
    }
  }
  const [b, a] = seconds as [number, number];
  console.log(`\n## Before and after: enrolling ${ENROLL_USERS.toLocaleString('en-US')} users (memory stores, begin + confirm + reveal)\n`);
  console.log('| tree | seconds | µs per user | ratio to before | target |');
  console.log('|---|---:|---:|---:|---|');
  console.log(`| before | ${b.toFixed(1)} | ${((b * 1e6) / ENROLL_USERS).toFixed(0)} | | |`);
  console.log(`| after | ${a.toFixed(1)} | ${((a * 1e6) / ENROLL_USERS).toFixed(0)} | ${(a / b).toFixed(2)}× the time | ≤ 0.5× |`);
}

await main();
