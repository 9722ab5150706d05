/**
 * Memory stores behind a fault injector, for the store-fault tests: every
 * call to either store is counted in one sequence, and the k-th call after
 * `arm(k, timing)` rejects with a {@link StoreFault} — either before the
 * store acts, or after it acted (the write happened, the reply was lost: a
 * dropped connection). Every other call is delegated unchanged.
 */
import {
  MemoryRecoveryCodeStore,
  MemoryUserStore,
  type RecoveryCodeStore,
  type UserStore,
} from '../../src/stores/index.ts';

/** `before`: the store never saw the call. `after`: it carried it out, then the caller got an error. */
export type FaultTiming = 'before' | 'after';

/** One store call, in the order the service made it. */
export interface StoreCall {
  /** `users.get`, `users.put`, `recoveryCodes.consume`, ... */
  name: string;
  /** The underlying store carried the call out. */
  performed: boolean;
  /** The call rejected with the injected fault. */
  faulted: boolean;
  /** A `users.put` that wrote the record (its compare-and-set succeeded): the operation's commit. */
  committed: boolean;
}

/** The error an armed store throws; the service must pass it on unchanged. */
export class StoreFault extends Error {
  readonly call: string;
  readonly timing: FaultTiming;

  constructor(call: string, timing: FaultTiming) {
    super(`injected store fault ${timing} ${call}`);
    this.name = 'StoreFault';
    this.call = call;
    this.timing = timing;
  }
}

export class FaultyStores {
  readonly users: UserStore;
  readonly recoveryCodes: RecoveryCodeStore;
  /** Calls since the last `arm` or `count`. */
  calls: StoreCall[] = [];
  /** The fault thrown since the last `arm`, if it struck. */
  injected: StoreFault | null = null;
  #fault: { at: number; timing: FaultTiming } | null = null;

  constructor(users = new MemoryUserStore(), codes = new MemoryRecoveryCodeStore()) {
    this.users = {
      get: (userId) => this.#call('users.get', () => users.get(userId)),
      put: (userId, record, expectedVersion) => this.#call('users.put', () => users.put(userId, record, expectedVersion)),
    };
    this.recoveryCodes = {
      replace: (userId, hashes, generation) => this.#call('recoveryCodes.replace', () => codes.replace(userId, hashes, generation)),
      consume: (userId, hash) => this.#call('recoveryCodes.consume', () => codes.consume(userId, hash)),
      restore: (userId, hash) => this.#call('recoveryCodes.restore', () => codes.restore(userId, hash)),
      countUnused: (userId) => this.#call('recoveryCodes.countUnused', () => codes.countUnused(userId)),
      clear: (userId) => this.#call('recoveryCodes.clear', () => codes.clear(userId)),
    };
  }

  /** Start counting afresh; the `at`-th call from now (1-based) fails once, `timing` the store acting. */
  arm(at: number, timing: FaultTiming): void {
    this.calls = [];
    this.injected = null;
    this.#fault = { at, timing };
  }

  /** Start counting afresh, without a fault. */
  count(): void {
    this.calls = [];
    this.injected = null;
    this.#fault = null;
  }

  /** Some `users.put` since the last `arm`/`count` wrote the record. */
  get committed(): boolean {
    return this.calls.some((call) => call.committed);
  }

  async #call<T>(name: string, perform: () => Promise<T>): Promise<T> {
    const call: StoreCall = { name, performed: false, faulted: false, committed: false };
    this.calls.push(call);
    const timing = this.#fault?.at === this.calls.length ? this.#fault.timing : null;
    if (timing === 'before') throw this.#strike(call, 'before');
    const value = await perform();
    call.performed = true;
    call.committed = name === 'users.put' && value === true;
    if (timing === 'after') throw this.#strike(call, 'after');
    return value;
  }

  #strike(call: StoreCall, timing: FaultTiming): StoreFault {
    call.faulted = true;
    this.#fault = null;
    this.injected = new StoreFault(call.name, timing);
    return this.injected;
  }
}
