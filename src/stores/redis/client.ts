import type { Cluster, Redis } from 'ioredis';
import { MfaError } from '../../errors.ts';

/**
 * The client methods the Redis adapter calls.
 *
 * @inline
 */
type Commands = 'evalsha' | 'eval' | 'hget' | 'hmget';

/**
 * The commands the Redis adapter sends: an ioredis `Redis` or `Cluster`
 * client fits. Only ioredis's types are named here; the adapter never loads
 * ioredis itself (it is an optional peer dependency). A client with its own
 * ioredis `keyPrefix` works too: every key goes through the client's key
 * handling (Lua scripts get theirs in `KEYS`), so it is prefixed once.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisClient } from 'twofold/adapters/redis';
 *
 * const client: RedisClient = new Redis(process.env.REDIS_URL!);
 * ```
 */
export type RedisClient = Pick<Redis, Commands> | Pick<Cluster, Commands>;

export function assertRedisClient(client: unknown, caller: string): asserts client is RedisClient {
  const methods: Commands[] = ['evalsha', 'eval', 'hget', 'hmget'];
  if (typeof client !== 'object' || client === null || methods.some((name) => typeof (client as Record<string, unknown>)[name] !== 'function')) {
    throw new MfaError('invalid_option', `${caller}: expected an ioredis Redis or Cluster client`);
  }
}
