import { MfaError } from '../errors.ts';
import { copyJsonData, jsonCopy } from './json-copy.ts';
import { checkScanLimit } from './scan.ts';
import type { StoredMfaRecord, RecoveryCodeStore, UserScanPage, UserStore, VersionedRecord } from './types.ts';

/**
 * In-process {@link UserStore}: the embedded default for one app server and
 * for tests. `put` keeps a private deep copy of the record that is exactly
 * what a JSON round trip gives, and `get` hands out a
 * fresh deep copy of it each time, so callers can never mutate stored state
 * through an object they passed or got back, and every record it accepts is
 * one a database adapter (which stores the JSON text) can store too. Atomic
 * because nothing awaits between the version check and the write.
 *
 * @example
 * ```ts
 * import { MemoryRecoveryCodeStore, MemoryUserStore, MfaService } from 'twofold';
 *
 * const users = new MemoryUserStore();
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users,
 *   recoveryCodes: new MemoryRecoveryCodeStore(),
 * });
 * console.log(users.size); // users with a record
 * ```
 */
export class MemoryUserStore implements UserStore {
  /** Each record as jsonCopy made it: plain data of the store's own, never changed once stored (get hands out copies). */
  readonly #records = new Map<string, { record: StoredMfaRecord; version: number }>();
  /** Every user id with a record, in the order they were created (records are never deleted): what scan pages through. */
  readonly #ids: string[] = [];

  constructor() {
    storedAccess.set(this, {
      read: (userId) => this.#records.get(userId) ?? null,
      // Kept as the service built it (its records are built by one object literal, without slack;
      // see copyRecord in src/service/record.ts): it never changes a record once written.
      write: (userId, record, expectedVersion) => this.#write(userId, record, expectedVersion),
    });
  }

  async get(userId: string): Promise<VersionedRecord | null> {
    const entry = this.#records.get(userId);
    return entry ? { record: copyJsonData(entry.record), version: entry.version } : null;
  }

  async put(userId: string, record: StoredMfaRecord, expectedVersion: number | null): Promise<boolean> {
    // Throws where JSON.stringify would (a BigInt, a cycle), before anything is compared or written.
    const copy = jsonCopy(record) as StoredMfaRecord | undefined;
    if (copy === undefined) throw new MfaError('invalid_argument', 'MemoryUserStore.put: the record must be a JSON object');
    return this.#write(userId, copy, expectedVersion);
  }

  /** The compare-and-set of a record copy the store owns; nothing is awaited between the check and the write. */
  #write(userId: string, copy: StoredMfaRecord, expectedVersion: number | null): boolean {
    const entry = this.#records.get(userId);
    if ((entry?.version ?? null) !== expectedVersion) return false;
    if (entry === undefined) this.#ids.push(userId);
    this.#records.set(userId, { record: copy, version: (expectedVersion ?? 0) + 1 });
    return true;
  }

  /**
   * Pages through the user ids in the order their records were created;
   * the cursor is the position reached (a decimal string), meaningful to
   * this store object only. Users created during the walk come after it.
   */
  async scan(cursor: string | null, limit: number): Promise<UserScanPage> {
    checkScanLimit(limit, 'MemoryUserStore.scan');
    if (cursor !== null && (typeof cursor !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(cursor) || Number(cursor) > this.#ids.length)) {
      throw new MfaError('invalid_argument', 'MemoryUserStore.scan: cursor must be null or a cursor an earlier page returned');
    }
    const start = cursor === null ? 0 : Number(cursor);
    const userIds = this.#ids.slice(start, start + limit);
    const next = start + userIds.length;
    return { userIds, cursor: next < this.#ids.length ? String(next) : null };
  }

  /** Number of users with a record. */
  get size(): number {
    return this.#records.size;
  }
}

/**
 * How MfaService reads and writes its embedded store without the copies
 * `get` and `put` make for other callers: `read` gives the stored record
 * itself, `write` keeps the record the service built (versions share what
 * did not change). The service writes JSON data only, made of objects it
 * built or read from this store, and never changes a record it read or
 * wrote.
 */
export interface StoredRecordAccess {
  read(userId: string): VersionedRecord | null;
  write(userId: string, record: StoredMfaRecord, expectedVersion: number | null): boolean;
}

/** Each MemoryUserStore's {@link StoredRecordAccess}. Not exported from the package. */
const storedAccess = new WeakMap<MemoryUserStore, StoredRecordAccess>();

/**
 * The service's access to `users`' stored records when `users` is a
 * MemoryUserStore; else null. For MfaService only, which never mutates a
 * record it reads or has written (every change is a new object, written by
 * compare-and-set), writes JSON data only, and never puts an object a
 * caller gave it into a record, nor hands out one of a record's: the
 * service tests run on a store that deep-freezes every record the service
 * reads or writes and checks every record it writes against its JSON round
 * trip, and test/service/no-shared-objects.test.ts checks what goes in and
 * out of every public method, so a flow that broke any of it fails them. Each call answers `undefined` (use `get` or `put` instead)
 * while that method of the store is not the class's own: a subclass
 * overriding it, a spy or a fault injected later is honoured; a Proxy or any
 * other wrapper gets no access.
 */
export function storedRecordAccessOf(users: unknown): {
  read(userId: string): VersionedRecord | null | undefined;
  write(userId: string, record: StoredMfaRecord, expectedVersion: number | null): boolean | undefined;
} | null {
  if (!(users instanceof MemoryUserStore)) return null;
  if (!storedAccess.has(users)) return null;
  return {
    read: (userId) => (users.get === MemoryUserStore.prototype.get ? storedAccess.get(users)!.read(userId) : undefined),
    write: (userId, record, expectedVersion) =>
      users.put === MemoryUserStore.prototype.put ? storedAccess.get(users)!.write(userId, record, expectedVersion) : undefined,
  };
}

/** Replace a store's {@link StoredRecordAccess} with a wrapper of it (tests: freeze what the service reads, check what it writes). */
export function wrapStoredRecordAccess(users: MemoryUserStore, wrap: (access: StoredRecordAccess) => StoredRecordAccess): void {
  const access = storedAccess.get(users);
  if (access !== undefined) storedAccess.set(users, wrap(access));
}

const HASH = /^[0-9a-f]{64}$/;
const HASH_BYTES = 32;

/** A hash as 32 one-byte characters: sets live on the V8 heap as compact strings, not one Buffer per user. */
function hashChars(hash: string): string {
  if (typeof hash !== 'string' || !HASH.test(hash)) {
    throw new MfaError('invalid_argument', 'recovery-code hashes must be 64 lowercase hex characters');
  }
  return Buffer.from(hash, 'hex').toString('latin1');
}

/**
 * In-process {@link RecoveryCodeStore}. A user's set is one string of
 * 32-byte hashes (one byte per character) plus a used flag per hash (about
 * 0.4 KB of heap for 10 codes, nothing off-heap), so 100,000 enrolled users
 * fit in a few tens of MB.
 *
 * @example
 * ```ts
 * import { generateRecoveryCodes, hashRecoveryCode, MemoryRecoveryCodeStore } from 'twofold';
 *
 * const store = new MemoryRecoveryCodeStore();
 * const codes = generateRecoveryCodes();
 * await store.replace('user-42', codes.map((code) => hashRecoveryCode('user-42', code)), 1);
 * await store.consume('user-42', hashRecoveryCode('user-42', codes[0]!)); // true, and false ever after
 * await store.countUnused('user-42'); // 9
 * ```
 */
export class MemoryRecoveryCodeStore implements RecoveryCodeStore {
  readonly #sets = new Map<string, { hashes: string; used: number[]; generation: number }>();

  async replace(userId: string, hashes: readonly string[], generation: number): Promise<void> {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new MfaError('invalid_argument', 'generation must be a non-negative safe integer');
    }
    const chars = hashes.map(hashChars).join('');
    const current = this.#sets.get(userId);
    if (current && generation <= current.generation) return;
    this.#sets.set(userId, { hashes: chars, used: new Array<number>(hashes.length).fill(0), generation });
  }

  async consume(userId: string, hash: string): Promise<boolean> {
    const i = this.#find(userId, hash);
    if (i === -1) return false;
    const set = this.#sets.get(userId)!;
    if (set.used[i]) return false;
    set.used[i] = 1;
    return true;
  }

  async restore(userId: string, hash: string): Promise<void> {
    const i = this.#find(userId, hash);
    if (i !== -1) this.#sets.get(userId)!.used[i] = 0;
  }

  async countUnused(userId: string): Promise<number> {
    const set = this.#sets.get(userId);
    if (!set) return 0;
    let unused = 0;
    for (const flag of set.used) if (flag === 0) unused++;
    return unused;
  }

  async clear(userId: string): Promise<void> {
    this.#sets.delete(userId);
  }

  #find(userId: string, hash: string): number {
    const wanted = hashChars(hash);
    const set = this.#sets.get(userId);
    if (!set) return -1;
    for (let i = 0; i < set.used.length; i++) {
      if (set.hashes.startsWith(wanted, i * HASH_BYTES)) return i;
    }
    return -1;
  }
}
