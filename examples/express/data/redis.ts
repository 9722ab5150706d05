/**
 * Sessions in Redis (REDIS_URL), on the same ioredis client as twofold's
 * Redis stores: one key per session, `example:sess:<id>`, holding its JSON
 * and expiring (PEXPIREAT) when its cookie does, so Redis deletes old ones
 * itself. (connect-redis, the usual store, needs the `redis` client package
 * rather than ioredis, hence these few lines.)
 */
import type { Redis } from 'ioredis';
import type { SessionRows } from './session-store.ts';

export const SESSION_KEY_PREFIX = 'example:sess:';

export function redisSessionRows(redis: Redis, prefix = SESSION_KEY_PREFIX): SessionRows {
  return {
    get: async (sid) => (await redis.get(prefix + sid)) ?? undefined,
    set: async (sid, json, expiresAt) => {
      await redis.set(prefix + sid, json, 'PXAT', expiresAt);
    },
    // XX semantics: PEXPIREAT on a missing key does nothing.
    touch: async (sid, expiresAt) => {
      await redis.pexpireat(prefix + sid, expiresAt);
    },
    destroy: async (sid) => {
      await redis.del(prefix + sid);
    },
    prune: async () => {},
  };
}
