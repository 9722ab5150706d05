/**
 * Where the example keeps twofold's state: in memory (the embedded default,
 * one process), or in PostgreSQL (DATABASE_URL) or Redis (REDIS_URL), which
 * several app servers can share. The adapters and their drivers are loaded
 * only when asked for, as an application would.
 *
 * The example's own accounts and sessions stay in memory either way: a real
 * host keeps them in its database too.
 */
import type { RecoveryCodeStore, UserStore } from 'twofold';
import type { StoresConfig } from './config.ts';

export interface OpenStores {
  users: UserStore;
  recoveryCodes: RecoveryCodeStore;
  /** For the startup banner; never includes credentials. */
  description: string;
  close(): Promise<void>;
}

export async function openStores(config: StoresConfig): Promise<OpenStores> {
  switch (config.kind) {
    case 'memory': {
      const { MemoryUserStore, MemoryRecoveryCodeStore } = await import('twofold');
      return { users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore(), description: 'in memory', close: async () => {} };
    }
    case 'postgres': {
      const { default: pg } = await import('pg');
      const { PostgresUserStore, PostgresRecoveryCodeStore, migrate } = await import('twofold/adapters/postgres');
      const pool = new pg.Pool({ connectionString: config.url, max: 16, application_name: 'twofold-example' });
      // An idle client whose server connection dies emits 'error' on the pool; the next query reconnects.
      pool.on('error', (error) => console.error(`twofold example: PostgreSQL connection lost (${error.message})`));
      const { schema } = config;
      await migrate(pool, { schema });
      const { host, pathname } = new URL(config.url);
      return {
        users: new PostgresUserStore(pool, { schema }),
        recoveryCodes: new PostgresRecoveryCodeStore(pool, { schema }),
        description: `PostgreSQL at ${host}${pathname} (schema ${schema})`,
        close: () => pool.end(),
      };
    }
    case 'redis': {
      const { Redis } = await import('ioredis');
      const { RedisUserStore, RedisRecoveryCodeStore } = await import('twofold/adapters/redis');
      // Fail a call after a short retry when Redis is unreachable, instead of queueing it for long.
      const redis = new Redis(config.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await redis.connect();
      return {
        users: new RedisUserStore(redis),
        recoveryCodes: new RedisRecoveryCodeStore(redis),
        description: `Redis at ${new URL(config.url).host}`,
        close: async () => {
          await redis.quit();
        },
      };
    }
  }
}
