import { randomBytes } from 'node:crypto';
import { MfaError } from '../../errors.ts';
import { checkScanLimit } from '../scan.ts';
import type { StoredMfaRecord, UserScanPage, UserStore, VersionedRecord } from '../types.ts';
import { assertRedisClient, type RedisClient } from './client.ts';
import { keyPrefix, userKey, type RedisStoreOptions } from './keys.ts';
import { flag, PUT, runScript } from './scripts.ts';

const VERSION = /^[1-9][0-9]{0,15}$/;

/**
 * {@link UserStore} in Redis, for several app servers sharing one Redis: one
 * hash per user (`<prefix>user:{<sha256 of the user id>}`) holding the
 * version and the record's JSON. A write is one Lua script that compares the
 * version and writes in one atomic step, so of many servers racing on one
 * user exactly one wins and the others re-read. Records are kept as their
 * JSON text and never decoded in Redis, so what comes back is exactly what
 * was put. Redis errors (a dropped connection, a timeout) propagate
 * unchanged; a script either ran whole or not at all.
 *
 * Persistence: the record holds the replay guard (last accepted TOTP step)
 * and the lockout counters. A Redis that loses acknowledged writes (a crash
 * without an fsynced append-only file, a failover to a replica that had not
 * caught up, eviction under `maxmemory`) can forget them: a TOTP code already
 * used can then be accepted again while it is still valid, and failed
 * attempts or a lock can be forgotten. Run it with `appendonly yes` and
 * `appendfsync always` (`everysec` risks about a second of writes), and
 * `maxmemory-policy noeviction` (the keys have no TTL, so `volatile-*` never
 * evicts them either; `allkeys-*` would).
 *
 * Client options: ioredis's defaults are safe. When a connection drops,
 * ioredis sends again the commands whose replies it had not received, and
 * Redis may already have run them: a write sent again recognises itself and
 * answers true without writing twice (or false, never overwriting, if another
 * server wrote in between; the service then re-reads). Recommended on top:
 * `maxRetriesPerRequest: 2`, so that while Redis is unreachable a call fails
 * after about 0.3 s instead of waiting out 20 reconnect attempts (about
 * 10 s); and `commandTimeout` (e.g. 2000) if a Redis that accepts connections
 * but stops answering must not hang logins. A call rejected that way may
 * still have run, or run later when ioredis sends the queued command; the
 * service treats its outcome as unknown and fails closed. Never set
 * `autoResendUnfulfilledCommands: false` alone: ioredis then never settles a
 * call that was in flight at a disconnect (`maxRetriesPerRequest: 0` rejects
 * such calls at once instead).
 *
 * @throws {MfaError} `invalid_option` from the constructor for an invalid
 *   client or `keyPrefix`; `invalid_argument` from a method for a user id
 *   that is not a well-formed string.
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
export class RedisUserStore implements UserStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(client: RedisClient, options: RedisStoreOptions = {}) {
    assertRedisClient(client, 'RedisUserStore');
    this.#client = client;
    this.#prefix = keyPrefix(options, 'RedisUserStore');
  }

  async get(userId: string): Promise<VersionedRecord | null> {
    const [version, json] = await this.#client.hmget(userKey(this.#prefix, 'user', userId), 'v', 'r');
    if (version === null || version === undefined) return null;
    if (!VERSION.test(version) || typeof json !== 'string') {
      throw new MfaError('store_contract', 'a Redis user record is damaged: no valid version or record');
    }
    return { record: JSON.parse(json) as StoredMfaRecord, version: Number(version) };
  }

  async put(userId: string, record: StoredMfaRecord, expectedVersion: number | null): Promise<boolean> {
    const key = userKey(this.#prefix, 'user', userId);
    // Serialised now: the caller may change the object while the write is in flight.
    const json: unknown = JSON.stringify(record);
    if (typeof json !== 'string') throw new MfaError('invalid_argument', 'the record must be a JSON object');
    // Stored versions are positive safe integers: any other expectation cannot match.
    if (expectedVersion !== null && !(Number.isSafeInteger(expectedVersion) && expectedVersion > 0 && Number.isSafeInteger(expectedVersion + 1))) {
      return false;
    }
    const expected = expectedVersion === null ? '' : String(expectedVersion);
    const next = String((expectedVersion ?? 0) + 1);
    const writeId = randomBytes(16).toString('base64url');
    return flag(await runScript(this.#client, PUT, [key], [expected, next, json, writeId, userId]), 'a user record write');
  }

  /**
   * Pages through the user hashes with SCAN (`MATCH <prefix>user:{*}`,
   * `COUNT limit`), node after node on a Cluster (its masters, ordered by
   * address); then reads each hash's user id. The cursor is
   * `<node>:<SCAN cursor>`. SCAN's own guarantees apply: every user whose
   * hash exists for the whole walk is returned, and a page holds about
   * `limit` keys' worth (fewer once other keys share the database, none at
   * times). Redis may return a key twice when it shrinks its key table
   * during the walk (after mass deletions): never none, and `rekeyAll`
   * visits and counts such a user once per call; on a Cluster, a walk must not span a
   * resharding or failover. A hash written before twofold kept user ids
   * (no `u` field) is counted in `unnamed` until its next write names it.
   *
   * @throws {MfaError} `invalid_option` when the client cannot SCAN (it is
   *   neither an ioredis `Redis` nor a `Cluster`).
   */
  async scan(cursor: string | null, limit: number): Promise<UserScanPage> {
    checkScanLimit(limit, 'RedisUserStore.scan');
    const nodes = scanNodes(this.#client);
    let node = 0;
    let position = '0';
    if (cursor !== null) {
      const match = typeof cursor === 'string' ? /^(0|[1-9][0-9]{0,3}):(0|[1-9][0-9]{0,19})$/.exec(cursor) : null;
      if (match === null || Number(match[1]) >= nodes.length) {
        throw new MfaError('invalid_argument', 'RedisUserStore.scan: cursor must be null or a cursor an earlier page returned');
      }
      node = Number(match[1]);
      position = match[2]!;
    }
    const clientPrefix = clientKeyPrefix(this.#client);
    const [next, keys] = await nodes[node]!.scan(position, 'MATCH', `${globEscape(clientPrefix + this.#prefix)}user:{*}`, 'COUNT', limit);
    const userKeys = new Set<string>();
    for (const key of keys) {
      // The key as the client names it: ioredis adds its own keyPrefix to HMGET but not to a SCAN pattern or reply.
      const ours = key.startsWith(clientPrefix) ? key.slice(clientPrefix.length) : null;
      if (ours !== null && ours.startsWith(this.#prefix) && USER_KEY.test(ours.slice(this.#prefix.length))) userKeys.add(ours);
    }
    const fields = await Promise.all([...userKeys].map((key) => this.#client.hmget(key, 'v', 'u')));
    const userIds: string[] = [];
    let unnamed = 0;
    for (const [version, userId] of fields) {
      if (version === null || version === undefined) continue; // gone since the SCAN (never happens to twofold's keys)
      if (typeof userId === 'string') userIds.push(userId);
      else unnamed++;
    }
    const nextCursor = next !== '0' ? `${node}:${next}` : node + 1 < nodes.length ? `${node + 1}:0` : null;
    return { userIds, cursor: nextCursor, ...(unnamed > 0 ? { unnamed } : {}) };
  }
}

/** The tail of a user key after the store's prefix. */
const USER_KEY = /^user:\{[0-9a-f]{64}\}$/;

/** What a SCAN runs on: one Redis, or each master of a Cluster. */
interface ScanNode {
  scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', limit: number): Promise<[string, string[]]>;
}

function scanNodes(client: RedisClient): ScanNode[] {
  const cluster = client as { nodes?: (role: 'master') => Array<ScanNode & { options?: { host?: string; port?: number } }> };
  if (typeof cluster.nodes === 'function') {
    const address = (node: { options?: { host?: string; port?: number } }) => `${node.options?.host ?? ''}:${node.options?.port ?? ''}`;
    return [...cluster.nodes('master')].sort((a, b) => (address(a) < address(b) ? -1 : address(a) > address(b) ? 1 : 0));
  }
  if (typeof (client as Partial<ScanNode>).scan === 'function') return [client as unknown as ScanNode];
  throw new MfaError('invalid_option', 'RedisUserStore.scan: the client can neither SCAN nor list Cluster nodes (pass an ioredis Redis or Cluster)');
}

/** The client's own ioredis `keyPrefix`, if it has one. */
function clientKeyPrefix(client: RedisClient): string {
  const prefix = (client as { options?: { keyPrefix?: unknown } }).options?.keyPrefix;
  return typeof prefix === 'string' ? prefix : '';
}

/** `text` matched literally in a SCAN MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
