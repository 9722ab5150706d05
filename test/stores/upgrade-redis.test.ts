/**
 * Records written by 0.1.0 keep working (DESIGN §6.6) in Redis: the real
 * keys 0.1.0's adapter wrote (test/fixtures/v0.1.0/redis.json) are written
 * back byte for byte under a fresh key prefix and read through
 * RedisUserStore / RedisRecoveryCodeStore by the current service with the
 * fixture's key and clock. The contracts are shared with memory and
 * PostgreSQL (test/support/v010-upgrade.ts); each test gets its own prefix.
 * Skips when Redis is not running, except under CI=true.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MfaService } from 'twofold';
import { RedisRecoveryCodeStore, RedisUserStore } from 'twofold/adapters/redis';
import { codeAt } from '../service/fixtures.ts';
import { redisSkipReason } from '../support/services.ts';
import { dumpRedis, loadV010Fixture, rebaseRedisKeys, restoreRedis, type RedisKeyDump } from '../support/v010-fixtures.ts';
import { upgradeContracts, type RestoredStores } from '../support/v010-upgrade.ts';
import { connect, deleteKeys, freshPrefix } from './redis-stores.ts';

const skip = await redisSkipReason();
const fixture = loadV010Fixture('redis');
const RUN = freshPrefix();

describe.skipIf(skip !== null)('Redis: 0.1.0 records', () => {
  let client: Redis;

  beforeAll(() => {
    client = connect();
  });

  afterAll(async () => {
    await deleteKeys(client, RUN);
    await client.quit();
  });

  async function restore(): Promise<RestoredStores & { keyPrefix: string }> {
    const keyPrefix = freshPrefix(RUN);
    await restoreRedis(client, keyPrefix, fixture);
    return {
      keyPrefix,
      users: new RedisUserStore(client, { keyPrefix }),
      recoveryCodes: new RedisRecoveryCodeStore(client, { keyPrefix }),
      raw: async (userId) => {
        const hex = createHash('sha256').update(userId, 'utf8').digest('hex');
        const [version, json] = await client.hmget(`${keyPrefix}user:{${hex}}`, 'v', 'r');
        return typeof version === 'string' && typeof json === 'string' ? { json, version: Number(version) } : null;
      },
    };
  }

  const userKeyOf = (dump: RedisKeyDump) => String(dump.key);

  it('the restored prefix holds the keys 0.1.0 wrote, byte for byte', async () => {
    const { keyPrefix } = await restore();
    expect(await dumpRedis(client, keyPrefix)).toEqual(rebaseRedisKeys(fixture.redis.keys, fixture.redis.keyPrefix, keyPrefix));
  });

  upgradeContracts({ fixture, restore });

  it("a change rewrites only that user's hash: every other key stays 0.1.0's, byte for byte", async () => {
    const { keyPrefix, users, recoveryCodes } = await restore();
    const mfa = new MfaService({ issuer: fixture.serviceOptions.issuer, secretKey: `hex:${fixture.rootKey}`, users, recoveryCodes, now: () => fixture.now });
    const alice = fixture.users.alice;
    const started = await mfa.startLogin(alice.userId);
    if (!started.ok || !started.mfaRequired) throw new Error(JSON.stringify(started));
    expect(await mfa.verifyLogin(started.challenge, { totp: codeAt(alice.secret!, fixture.now) })).toMatchObject({ ok: true });
    const aliceKey = `${keyPrefix}user:{${alice.userKeyHex}}`;
    const now = await dumpRedis(client, keyPrefix);
    const before = rebaseRedisKeys(fixture.redis.keys, fixture.redis.keyPrefix, keyPrefix);
    expect(now.filter((dump) => userKeyOf(dump) !== aliceKey)).toEqual(before.filter((dump) => userKeyOf(dump) !== aliceKey));
    const aliceHash = Object.fromEntries(now.find((dump) => userKeyOf(dump) === aliceKey)!.hash! as Array<[string, string]>);
    const oldHash = Object.fromEntries(before.find((dump) => userKeyOf(dump) === aliceKey)!.hash! as Array<[string, string]>);
    expect(JSON.parse(aliceHash.r!)).toMatchObject({ schema: 2 });
    expect(aliceHash.v).toBe(String(Number(oldHash.v) + 1));
  });
});
