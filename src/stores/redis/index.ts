/**
 * `twofold/adapters/redis`: {@link UserStore} and {@link RecoveryCodeStore}
 * in Redis, for a fleet of app servers sharing one Redis (or Redis Cluster),
 * where replay protection, recovery-code consumption and lockout must hold
 * across processes. Every change is one atomic Lua script on one key; a
 * user's two keys share a Cluster slot. `ioredis` is an optional peer
 * dependency: pass an ioredis `Redis` or `Cluster`; this module never loads
 * ioredis itself.
 *
 * Keys, for a prefix `twofold:` and `H` the hex SHA-256 of the UTF-8 user id:
 * `twofold:user:{H}` (hash: `v` version, `r` record JSON, `w` id of the last
 * write) and `twofold:codes:{H}` (hash: `g` generation, one field per code
 * hash: `0` unused, else the id of the consume that used it). No key expires.
 *
 * Persistence matters here: a Redis that loses acknowledged writes can
 * resurrect a used recovery code, accept a TOTP code a second time while it
 * is still valid, or forget failed attempts and locks. Configure `appendonly yes`
 * with `appendfsync always` (or accept about a second of loss with
 * `everysec`), and `maxmemory-policy noeviction`. Replication is
 * asynchronous: a failover can lose the last writes the same way.
 *
 * Reconnects are safe with ioredis's defaults: every script that writes is
 * safe to run twice (ioredis sends a command again when its reply was lost
 * to a dropped connection), so it takes effect once. Add
 * `maxRetriesPerRequest: 2` so calls fail fast while Redis is unreachable;
 * see {@link RedisUserStore} for the other client options.
 *
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
 *
 * @module twofold/adapters/redis
 */
import type { RecoveryCodeStore, UserStore } from '../types.ts';

export { RedisUserStore } from './user-store.ts';
export { RedisRecoveryCodeStore } from './recovery-code-store.ts';
export type { RedisStoreOptions } from './keys.ts';
export type { RedisClient } from './client.ts';
