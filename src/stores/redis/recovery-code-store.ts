import { randomBytes } from 'node:crypto';
import { MfaError } from '../../errors.ts';
import type { RecoveryCodeStore } from '../types.ts';
import { assertRedisClient, type RedisClient } from './client.ts';
import { keyPrefix, userKey, type RedisStoreOptions } from './keys.ts';
import { CLEAR, CONSUME, COUNT_UNUSED, flag, REPLACE, RESTORE, runScript } from './scripts.ts';

const HASH = /^[0-9a-f]{64}$/;

/** Consumes remembered for {@link RedisRecoveryCodeStore.restore}; the oldest are forgotten beyond this. */
const REMEMBERED_CONSUMES = 10_000;

function checkHash(hash: string): string {
  if (typeof hash !== 'string' || !HASH.test(hash)) {
    throw new MfaError('invalid_argument', 'recovery-code hashes must be 64 lowercase hex characters');
  }
  return hash;
}

/**
 * {@link RecoveryCodeStore} in Redis, for several app servers sharing one
 * Redis: one hash per user (`<prefix>codes:{<sha256 of the user id>}`) with
 * the set's generation and a field per code hash, unused or used. Every
 * change is one Lua script, atomic in Redis: a consume marks a hash used
 * only if it is unused, so of any number of servers presenting the same code
 * exactly one gets true; a replace swaps the whole set in one step, and only
 * for a newer generation. Redis errors propagate unchanged; a script either
 * ran whole or not at all. Duplicate hashes in one `replace` are stored once.
 *
 * Persistence: a Redis that loses acknowledged writes (a crash without an
 * fsynced append-only file, a failover to a replica that had not caught up,
 * eviction under `maxmemory`) can forget that a code was used, and accept it
 * again. Run it with `appendonly yes` and `appendfsync always` (`everysec`
 * risks about a second of writes) and `maxmemory-policy noeviction`.
 *
 * Reconnects: safe with ioredis's defaults, which re-send a command whose
 * reply was lost when the connection dropped. A consume sent again
 * recognises itself and answers true once more rather than false (so a
 * dropped reply never costs the user a code); a restore undoes only the
 * consume it was called for, so one sent again after another server used the
 * code cannot make it usable twice. See {@link RedisUserStore} for the
 * recommended client options.
 *
 * @throws {MfaError} `invalid_option` from the constructor for an invalid
 *   client or `keyPrefix`; `invalid_argument` from a method for a user id
 *   that is not a well-formed string, a hash that is not 64 lowercase hex
 *   characters, or a generation that is not a non-negative safe integer.
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { MfaService } from 'twofold';
 * import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 2 });
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,
 *   users: new RedisUserStore(redis),
 *   recoveryCodes: new RedisRecoveryCodeStore(redis),
 * });
 * ```
 */
export class RedisRecoveryCodeStore implements RecoveryCodeStore {
  readonly #client: RedisClient;
  readonly #prefix: string;
  /** `<set key> <hash>` → the id this store's consume marked it with, for restore. */
  readonly #consumes = new Map<string, string>();

  constructor(client: RedisClient, options: RedisStoreOptions = {}) {
    assertRedisClient(client, 'RedisRecoveryCodeStore');
    this.#client = client;
    this.#prefix = keyPrefix(options, 'RedisRecoveryCodeStore');
  }

  async replace(userId: string, hashes: readonly string[], generation: number): Promise<void> {
    const key = userKey(this.#prefix, 'codes', userId);
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new MfaError('invalid_argument', 'generation must be a non-negative safe integer');
    }
    if (!Array.isArray(hashes)) throw new MfaError('invalid_argument', 'hashes must be an array');
    flag(await runScript(this.#client, REPLACE, [key], [String(generation), ...hashes.map(checkHash)]), 'a code set replace');
  }

  async consume(userId: string, hash: string): Promise<boolean> {
    const key = userKey(this.#prefix, 'codes', userId);
    checkHash(hash);
    const consumeId = randomBytes(16).toString('base64url');
    const consumed = flag(await runScript(this.#client, CONSUME, [key], [hash, consumeId]), 'a code consume');
    if (consumed) this.#remember(`${key} ${hash}`, consumeId);
    return consumed;
  }

  /**
   * Marks `hash` unused again if this store's own consume used it (the
   * service restores only what it consumed). A hash used by someone else
   * since, say a second server that was handed the same code while this
   * restore was being re-sent after a reconnect, stays used. A restore with
   * no remembered consume (another store object's, or more than 10,000
   * consumes ago) marks the hash unused whoever used it, as the contract says.
   */
  async restore(userId: string, hash: string): Promise<void> {
    const key = userKey(this.#prefix, 'codes', userId);
    checkHash(hash);
    const remembered = `${key} ${hash}`;
    const consumeId = this.#consumes.get(remembered) ?? '';
    flag(await runScript(this.#client, RESTORE, [key], [hash, consumeId]), 'a code restore');
    if (this.#consumes.get(remembered) === consumeId) this.#consumes.delete(remembered);
  }

  async countUnused(userId: string): Promise<number> {
    const unused = await runScript(this.#client, COUNT_UNUSED, [userKey(this.#prefix, 'codes', userId)], []);
    if (typeof unused !== 'number' || !Number.isSafeInteger(unused) || unused < 0) {
      throw new MfaError('store_contract', 'Redis answered a count of unused codes with something other than a count');
    }
    return unused;
  }

  async clear(userId: string): Promise<void> {
    const key = userKey(this.#prefix, 'codes', userId);
    const generation = await this.#client.hget(key, 'g');
    if (generation === null) return;
    // Deletes only the generation just read: a newer set written since was written after this clear.
    flag(await runScript(this.#client, CLEAR, [key], [generation]), 'a code set clear');
  }

  #remember(entry: string, consumeId: string): void {
    this.#consumes.delete(entry);
    this.#consumes.set(entry, consumeId);
    if (this.#consumes.size > REMEMBERED_CONSUMES) {
      this.#consumes.delete(this.#consumes.keys().next().value!);
    }
  }
}
