/**
 * Shared set-up for the Redis adapter tests: clients on the test server, a
 * fresh key prefix per run and per test, deletion of a prefix's keys (SCAN +
 * DEL, never FLUSHDB: other things may share the server), and `makeStores`
 * for the verify worker (test/support/verify-worker.ts) of the
 * multi-process races. Loaded by the worker too, so no vitest here.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { RecoveryCodeStore, UserStore } from 'twofold';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import { REDIS_URL } from '../support/services.ts';

const TEST_PREFIX = 'twofold-test:';

/** A key prefix no other run uses: `twofold-test:<random>:`, or under `parent` when given. */
export function freshPrefix(parent = TEST_PREFIX): string {
  if (!parent.startsWith(TEST_PREFIX)) throw new Error(`test prefixes start with ${TEST_PREFIX}`);
  return `${parent}${randomBytes(6).toString('hex')}:`;
}

/**
 * A client on the test server. Connection errors are expected in the fault
 * tests and ioredis reconnects by itself; without a listener it would log
 * every one as unhandled.
 */
export function connect(options: RedisOptions = {}, url = REDIS_URL): Redis {
  const client = new Redis(url, options);
  client.on('error', () => undefined);
  return client;
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Every key under `prefix` (client without its own keyPrefix). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under a test prefix (and refuses any other prefix). */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  if (!prefix.startsWith(TEST_PREFIX) || prefix.length <= TEST_PREFIX.length) throw new Error(`refusing to delete keys under ${prefix}`);
  const keys = await keysUnder(client, prefix);
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
}

export interface RedisStoresOptions {
  keyPrefix: string;
  /** ioredis options of the stores' own client. */
  redis?: RedisOptions;
}

/** Both stores over one new client; `close` quits it. For the verify worker and the races. */
export async function makeStores(options: RedisStoresOptions): Promise<{ users: UserStore; recoveryCodes: RecoveryCodeStore; close(): Promise<void> }> {
  const client = connect(options.redis);
  return {
    users: new RedisUserStore(client, { keyPrefix: options.keyPrefix }),
    recoveryCodes: new RedisRecoveryCodeStore(client, { keyPrefix: options.keyPrefix }),
    close: async () => {
      await client.quit();
    },
  };
}
