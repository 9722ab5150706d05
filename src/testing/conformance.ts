import { describe, expect, it } from 'vitest';
import { MfaError } from '../errors.ts';
import type { MfaService } from '../service/mfa-service.ts';
import type { RecoveryCodeStore, UserStore } from '../stores/types.ts';
import type { Stores } from './conformance-support.ts';
import { recoveryCodeStoreContracts } from './recovery-code-store-contracts.ts';
import { serviceContracts } from './service-contracts.ts';
import { userStoreContracts } from './user-store-contracts.ts';

/** The stores under test, fresh for one test. */
export interface ConformanceStores {
  /** The adapter's {@link UserStore}, empty. */
  users: UserStore;
  /** The adapter's {@link RecoveryCodeStore}, empty. */
  recoveryCodes: RecoveryCodeStore;
  /** Called after the test, pass or fail: drop the schema, delete the key prefix, close the pool. */
  cleanup?: () => Promise<void>;
}

/** Options of {@link runStoreConformance}. */
export interface StoreConformanceOptions {
  /** Shown in the describe block, e.g. `'memory'` or `'postgres'`. */
  name: string;
  /**
   * Fresh, empty, isolated stores for each test (e.g. a new schema or key
   * prefix). Called once per test; the two stores may share a connection.
   */
  makeStores: () => Promise<ConformanceStores> | ConformanceStores;
  /** Parallel callers in the race tests. Default 50; at least 2. */
  concurrency?: number;
  /**
   * A reason to skip the whole suite (e.g. `'PG_URL not set'`). The tests are
   * registered with `describe.skip`, so vitest reports them as skipped, and
   * the reason is printed; nothing passes silently.
   */
  skip?: string | false;
  /** Per-test timeout in ms, for adapters behind a network. Default: vitest's `testTimeout`. */
  timeoutMs?: number;
}

/** The validated options; the race tests' concurrency. */
function checkOptions(options: StoreConformanceOptions): number {
  if (typeof options?.name !== 'string' || options.name === '') {
    throw new MfaError('invalid_option', 'runStoreConformance: `name` must be a non-empty string');
  }
  if (typeof options.makeStores !== 'function') {
    throw new MfaError('invalid_option', 'runStoreConformance: `makeStores` must be a function');
  }
  const concurrency = options.concurrency ?? 50;
  if (!Number.isInteger(concurrency) || concurrency < 2 || concurrency > 10_000) {
    throw new MfaError('invalid_option', 'runStoreConformance: `concurrency` must be an integer from 2 to 10000');
  }
  if (options.skip !== undefined && options.skip !== false && (typeof options.skip !== 'string' || options.skip === '')) {
    throw new MfaError('invalid_option', 'runStoreConformance: `skip` must be a non-empty reason string or false');
  }
  return concurrency;
}

/**
 * Registers the adapter conformance suite with vitest (its groups live in
 * user-store-contracts.ts, recovery-code-store-contracts.ts and
 * service-contracts.ts): every contract of
 * {@link UserStore} and {@link RecoveryCodeStore} (compare-and-set, atomic
 * consume, exact user ids, isolation of returned objects, and the optional
 * `scan` when the store has one: every user exactly once while others
 * write), including races of `concurrency` parallel callers, and an
 * end-to-end run of {@link MfaService} over the adapter (a key rotation
 * with `rekeyAll` among it). Call it at the top level of a test
 * file. Every test gets fresh stores from `makeStores` and asserts something.
 *
 * @example
 * ```ts
 * // my-store.test.ts (vitest)
 * import { MemoryRecoveryCodeStore, MemoryUserStore } from 'twofold';
 * import { runStoreConformance } from 'twofold/testing';
 *
 * runStoreConformance({
 *   name: 'memory',
 *   makeStores: () => ({ users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() }),
 * });
 * ```
 */
export function runStoreConformance(options: StoreConformanceOptions): void {
  const concurrency = checkOptions(options);
  const title = `${options.name} store conformance`;
  if (options.skip) {
    console.warn(`twofold: skipping the ${title} suite: ${options.skip}`);
  }
  const suite = options.skip ? describe.skip : describe;

  /** One contract, one test: fresh stores, at least one assertion, cleanup whatever happens. */
  function contract(name: string, body: (stores: Stores) => Promise<void>): void {
    it(name, async () => {
      expect.hasAssertions();
      const stores = await options.makeStores();
      if (typeof stores?.users?.get !== 'function' || typeof stores.recoveryCodes?.consume !== 'function') {
        throw new TypeError('makeStores must return { users: UserStore, recoveryCodes: RecoveryCodeStore }');
      }
      try {
        await body(stores);
      } catch (error) {
        await stores.cleanup?.().catch(() => undefined);
        throw error;
      }
      await stores.cleanup?.();
    }, options.timeoutMs);
  }

  suite(`${title}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    userStoreContracts(contract, concurrency);
    recoveryCodeStoreContracts(contract, concurrency);
    serviceContracts(contract, concurrency);
  });
}
