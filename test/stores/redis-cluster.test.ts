/**
 * The Redis adapter over an ioredis `Cluster`: the one given in
 * TWOFOLD_TEST_REDIS_CLUSTER (comma-separated host:port seeds, e.g.
 * `127.0.0.1:7100,127.0.0.1:7101`), else a 3-master cluster started here from
 * the machine's redis-server (test/support/redis-cluster.ts). Scripts are routed by their one key, a user's two keys share a
 * slot through the hash tag, and users spread over the nodes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import { awkwardUserIds, runStoreConformance, sampleRecord } from 'twofold/testing';
import { clusterSkipReason, startLocalCluster } from '../support/redis-cluster.ts';
import { freshPrefix } from './redis-stores.ts';

// A cluster given in TWOFOLD_TEST_REDIS_CLUSTER, else a throwaway one started here.
const reason = process.env.TWOFOLD_TEST_REDIS_CLUSTER ? null : clusterSkipReason();
const local = process.env.TWOFOLD_TEST_REDIS_CLUSTER || reason !== null ? null : await startLocalCluster();
const seeds = process.env.TWOFOLD_TEST_REDIS_CLUSTER ?? local?.seeds;
const skip = reason ?? false;
const RUN = freshPrefix();

function startupNodes(): Array<{ host: string; port: number }> {
  return seeds!.split(',').map((seed) => {
    const [host, port] = seed.trim().split(':');
    return { host: host!, port: Number(port) };
  });
}

let cluster: Cluster | undefined;
function client(): Cluster {
  cluster ??= new Cluster(startupNodes());
  return cluster;
}

/** SCAN + DEL on every master: keys of different slots cannot be deleted in one command. */
async function deleteKeys(prefix: string): Promise<void> {
  if (!prefix.startsWith(RUN)) throw new Error(`refusing to delete keys under ${prefix}`);
  for (const node of client().nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      for (const key of keys) await node.del(key);
      cursor = next;
    } while (cursor !== '0');
  }
}

afterAll(async () => {
  if (skip) return;
  await deleteKeys(RUN);
  await cluster?.quit();
  await local?.stop();
});

runStoreConformance({
  name: 'redis cluster',
  skip,
  makeStores: () => {
    const keyPrefix = freshPrefix(RUN);
    return {
      users: new RedisUserStore(client(), { keyPrefix }),
      recoveryCodes: new RedisRecoveryCodeStore(client(), { keyPrefix }),
      cleanup: () => deleteKeys(keyPrefix),
    };
  },
});

describe.skipIf(skip !== false)('Redis adapter over a Cluster', () => {
  it("puts a user's two keys in one slot, and spreads users over the nodes", async () => {
    const keyPrefix = freshPrefix(RUN);
    const users = new RedisUserStore(client(), { keyPrefix });
    const recoveryCodes = new RedisRecoveryCodeStore(client(), { keyPrefix });
    const nodesUsed = new Set<string>();
    for (const userId of awkwardUserIds) {
      expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      await recoveryCodes.replace(userId, [randomBytes(32).toString('hex')], 1);
      const h = createHash('sha256').update(userId, 'utf8').digest('hex');
      const slots = await Promise.all(['user', 'codes'].map((kind) => client().cluster('KEYSLOT', `${keyPrefix}${kind}:{${h}}`)));
      expect(slots[0]).toBe(slots[1]);
      expect(slots[0]).toBe(await client().cluster('KEYSLOT', h));
      nodesUsed.add(client().slots[slots[0] as number]![0]!);
    }
    expect(nodesUsed.size).toBe(client().nodes('master').length);
  });

  it('works with a Cluster client that has its own keyPrefix', async () => {
    const outer = new Cluster(startupNodes(), { keyPrefix: `${RUN}outer:` });
    try {
      const users = new RedisUserStore(outer, { keyPrefix: 'inner:' });
      const recoveryCodes = new RedisRecoveryCodeStore(outer, { keyPrefix: 'inner:' });
      const set = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
      expect(await users.put('{alice}', sampleRecord(), null)).toBe(true);
      expect(await users.put('{alice}', sampleRecord({ failures: 1 }), 1)).toBe(true);
      await recoveryCodes.replace('{alice}', set, 1);
      expect(await recoveryCodes.consume('{alice}', set[0]!)).toBe(true);
      expect(await recoveryCodes.countUnused('{alice}')).toBe(1);
      const h = createHash('sha256').update('{alice}', 'utf8').digest('hex');
      expect(await client().hget(`${RUN}outer:inner:user:{${h}}`, 'v')).toBe('2');
    } finally {
      await outer.quit();
    }
  });
});
