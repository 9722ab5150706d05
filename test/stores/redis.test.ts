/**
 * The Redis adapter against the conformance suite (over a plain client and
 * over a client with its own ioredis keyPrefix), then what is particular to
 * it: options, the key layout, hashing of awkward user ids, input checks,
 * exact numbers, large generations, no Lua injection, and the NOSCRIPT
 * fallback.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTotp, isMfaError, MfaService, type MfaErrorCode } from 'twofold';
import { RedisRecoveryCodeStore, RedisUserStore, type RedisClient } from 'twofold/adapters/redis';
import { awkwardUserIds, runStoreConformance, sampleRecord } from 'twofold/testing';
import { redisSkipReason } from '../support/services.ts';
import { MALFORMED_HASHES } from './malformed-hashes.ts';
import { BAD_CURSORS, BAD_LIMITS } from './scan-arguments.ts';
import { connect, deleteKeys, freshPrefix, keysUnder } from './redis-stores.ts';

const skip = await redisSkipReason();
const RUN = freshPrefix();
const OUTER = 'outer:';

/**
 * This file's own logical database, whose keys are deleted once, after all
 * (each contract's cleanup leaves them): the scan contracts walk the keyspace
 * with SCAN, which may return a key twice while Redis shrinks its table after
 * mass deletions — other test files empty database 0 in parallel, and a
 * contract's cleanup would empty this one right before the next contract's
 * walk. Here the table only grows while the contracts run. (The adapter's
 * documentation says what a repeat means for a production walk; rekeyAll
 * counts a user once per call.)
 */
const DB = 1;

let plain: Redis | undefined;
let prefixed: Redis | undefined;
/** One client without a keyPrefix, shared by the tests of this file (also for cleanup). */
function client(): Redis {
  plain ??= connect({ db: DB });
  return plain;
}
/** One client with its own ioredis keyPrefix `<RUN>outer:`. */
function prefixedClient(): Redis {
  prefixed ??= connect({ db: DB, keyPrefix: `${RUN}${OUTER}` });
  return prefixed;
}

afterAll(async () => {
  if (skip) return;
  await deleteKeys(client(), RUN);
  await prefixed?.quit();
  await plain?.quit();
});

runStoreConformance({
  name: 'redis',
  skip: skip ?? false,
  makeStores: () => {
    const keyPrefix = freshPrefix(RUN);
    return {
      users: new RedisUserStore(client(), { keyPrefix }),
      recoveryCodes: new RedisRecoveryCodeStore(client(), { keyPrefix }),
      // Deleted with the rest of RUN after all (see DB).
      cleanup: async () => {},
    };
  },
});

runStoreConformance({
  name: 'redis, client with its own keyPrefix',
  skip: skip ?? false,
  makeStores: () => {
    const keyPrefix = `inner-${randomBytes(6).toString('hex')}:`;
    return {
      users: new RedisUserStore(prefixedClient(), { keyPrefix }),
      recoveryCodes: new RedisRecoveryCodeStore(prefixedClient(), { keyPrefix }),
      // Deleted with the rest of RUN after all (see DB).
      cleanup: async () => {},
    };
  },
});

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const hash = (): string => randomBytes(32).toString('hex');
const hashes = (count: number): string[] => Array.from({ length: count }, hash);

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error;
  }
  return null;
}

async function expectMfaError(promise: Promise<unknown> | (() => unknown), code: MfaErrorCode): Promise<void> {
  const error = await rejection(promise);
  expect(isMfaError(error, code), `expected MfaError ${code}, got ${String(error)}`).toBe(true);
}

/** Fresh stores under a fresh prefix of this run. */
function stores(keyPrefix = freshPrefix(RUN)) {
  return {
    keyPrefix,
    users: new RedisUserStore(client(), { keyPrefix }),
    recoveryCodes: new RedisRecoveryCodeStore(client(), { keyPrefix }),
  };
}

describe.skipIf(skip !== null)('Redis adapter options', () => {
  it.each<[string, unknown]>([
    ['101 characters', 'p'.repeat(101)],
    ['a newline', 'app\n'],
    ['a NUL', 'app\u0000'],
    ['a non-ASCII character', 'äpp:'],
    ['a hash tag', 'app{1}:'],
    ['an opening brace', 'app{'],
    ['a closing brace', 'app}'],
    ['a number', 42],
    ['null', null],
  ])('rejects a keyPrefix with %s: MfaError invalid_option', async (_, keyPrefix) => {
    await expectMfaError(() => new RedisUserStore(client(), { keyPrefix: keyPrefix as string }), 'invalid_option');
    await expectMfaError(() => new RedisRecoveryCodeStore(client(), { keyPrefix: keyPrefix as string }), 'invalid_option');
  });

  it.each([[''], ['p'.repeat(100)], ['app:2fa:'], ['~ printable! ASCII|*?[]:']])('accepts the keyPrefix %j', (keyPrefix) => {
    expect(new RedisUserStore(client(), { keyPrefix })).toBeInstanceOf(RedisUserStore);
    expect(new RedisRecoveryCodeStore(client(), { keyPrefix })).toBeInstanceOf(RedisRecoveryCodeStore);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an empty object', {}],
    ['a pg Pool look-alike', { query: async () => ({ rows: [] }) }],
    ['a string', 'redis://127.0.0.1:6379'],
  ])('rejects %s as the client: MfaError invalid_option', async (_, bad) => {
    await expectMfaError(() => new RedisUserStore(bad as RedisClient), 'invalid_option');
    await expectMfaError(() => new RedisRecoveryCodeStore(bad as RedisClient), 'invalid_option');
  });

  it('rejects options that are not an object: MfaError invalid_option', async () => {
    await expectMfaError(() => new RedisUserStore(client(), 'twofold:' as never), 'invalid_option');
  });

  it("uses the prefix 'twofold:' by default", async () => {
    const userId = `default-prefix-${randomBytes(8).toString('hex')}`;
    const users = new RedisUserStore(client());
    const codes = new RedisRecoveryCodeStore(client());
    const keys = [`twofold:user:{${sha256(userId)}}`, `twofold:codes:{${sha256(userId)}}`];
    try {
      expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      await codes.replace(userId, hashes(2), 1);
      expect(await client().exists(...keys)).toBe(2);
    } finally {
      await client().del(...keys);
    }
  });
});

describe.skipIf(skip !== null)('Redis adapter key layout', () => {
  it('keeps a user in two hashes named by the SHA-256 of the id, the hash inside braces as the Cluster hash tag', async () => {
    const { keyPrefix, users, recoveryCodes } = stores();
    const record = sampleRecord();
    const set = hashes(3);
    expect(await users.put('alice', record, null)).toBe(true);
    await recoveryCodes.replace('alice', set, 7);
    expect(await recoveryCodes.consume('alice', set[1]!)).toBe(true);

    const h = sha256('alice');
    const userKey = `${keyPrefix}user:{${h}}`;
    const codesKey = `${keyPrefix}codes:{${h}}`;
    expect((await keysUnder(client(), keyPrefix)).sort()).toEqual([codesKey, userKey]);
    expect(await client().type(userKey)).toBe('hash');
    const stored = await client().hgetall(userKey);
    expect(Object.keys(stored).sort()).toEqual(['r', 'u', 'v', 'w']);
    expect(stored.v).toBe('1');
    // The user id itself, for UserStore.scan (the key holds only its hash).
    expect(stored.u).toBe('alice');
    // Opaque JSON text: exactly what JSON.stringify made, never re-encoded by Lua.
    expect(stored.r).toBe(JSON.stringify(record));

    const codes = await client().hgetall(codesKey);
    expect(codes.g).toBe('7');
    expect(codes[set[0]!]).toBe('0');
    expect(codes[set[1]!]).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(codes[set[2]!]).toBe('0');
    // Cluster hashes only what is inside the first {...}: the same for both keys of a user.
    for (const key of [userKey, codesKey]) expect(key.slice(key.indexOf('{') + 1, key.indexOf('}'))).toBe(h);
  });

  it('awkward user ids (braces, globs, separators, NUL, 10 KB) never reach a key name', async () => {
    const { keyPrefix, users, recoveryCodes } = stores();
    for (const userId of awkwardUserIds) {
      expect(await users.put(userId, sampleRecord(), null)).toBe(true);
      await recoveryCodes.replace(userId, hashes(1), 1);
    }
    const keys = await keysUnder(client(), keyPrefix);
    expect(keys).toHaveLength(2 * awkwardUserIds.length);
    const shape = new RegExp(`^${keyPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(user|codes):\\{[0-9a-f]{64}\\}$`);
    for (const key of keys) expect(key).toMatch(shape);
    expect(new Set(keys.map((key) => key.slice(key.indexOf('{')))).size).toBe(awkwardUserIds.length);
  });

  it('a client with its own ioredis keyPrefix gets it once, before the store prefix, in scripts and reads alike', async () => {
    const keyPrefix = 'inner:';
    const users = new RedisUserStore(prefixedClient(), { keyPrefix });
    const recoveryCodes = new RedisRecoveryCodeStore(prefixedClient(), { keyPrefix });
    const userId = `outer-${randomBytes(6).toString('hex')}`;
    const set = hashes(2);
    expect(await users.put(userId, sampleRecord(), null)).toBe(true);
    expect(await users.put(userId, sampleRecord({ failures: 1 }), 1)).toBe(true);
    expect((await users.get(userId))?.version).toBe(2);
    await recoveryCodes.replace(userId, set, 1);
    expect(await recoveryCodes.consume(userId, set[0]!)).toBe(true);
    expect(await recoveryCodes.countUnused(userId)).toBe(1);

    const h = sha256(userId);
    expect(await client().hget(`${RUN}${OUTER}inner:user:{${h}}`, 'v')).toBe('2');
    expect(await client().hget(`${RUN}${OUTER}inner:codes:{${h}}`, set[1]!)).toBe('0');
    expect(await keysUnder(client(), `${RUN}${OUTER}${RUN}`)).toEqual([]);
    await recoveryCodes.clear(userId);
    expect(await client().exists(`${RUN}${OUTER}inner:codes:{${h}}`)).toBe(0);
    await client().del(`${RUN}${OUTER}inner:user:{${h}}`);
  });

  it('two prefixes on one server are two separate stores', async () => {
    const a = stores();
    const b = stores();
    const set = hashes(2);
    expect(await a.users.put('alice', sampleRecord({ failures: 1 }), null)).toBe(true);
    await a.recoveryCodes.replace('alice', set, 1);
    expect(await b.users.get('alice')).toBeNull();
    expect(await b.recoveryCodes.countUnused('alice')).toBe(0);
    expect(await b.recoveryCodes.consume('alice', set[0]!)).toBe(false);
    expect(await b.users.put('alice', sampleRecord({ failures: 2 }), null)).toBe(true);
    expect((await a.users.get('alice'))?.record.failures).toBe(1);
  });
});

describe.skipIf(skip !== null)('Redis adapter input checks', () => {
  it.each([
    ...BAD_LIMITS.map(([name, limit]) => [`page size ${name}`, limit, null]),
    ...BAD_CURSORS.map(([name, cursor]) => [`cursor ${name}`, 10, cursor]),
    ['cursor naming a node there is not', 10, '1:0'],
  ])('scan refuses a %s with MfaError invalid_argument', async (_, limit, cursor) => {
    await expectMfaError(stores().users.scan(cursor as string | null, limit as number), 'invalid_argument');
  });

  it('scan refuses a client that can neither SCAN nor list Cluster nodes: MfaError invalid_option', async () => {
    const bare = { evalsha: () => null, eval: () => null, hget: () => null, hmget: () => null } as unknown as ConstructorParameters<typeof RedisUserStore>[0];
    await expectMfaError(new RedisUserStore(bare).scan(null, 10), 'invalid_option');
  });

  const malformed: Array<[string, unknown]> = [
    ...MALFORMED_HASHES,
    ['the generation field name', 'g'],
    ['Lua', "') redis.call('FLUSHALL') --"],
  ];

  it.each(malformed)('rejects a malformed hash (%s) in replace, consume and restore: MfaError invalid_argument, nothing sent', async (_, bad) => {
    const { keyPrefix, recoveryCodes } = stores();
    const set = hashes(2);
    await recoveryCodes.replace('alice', set, 1);
    await expectMfaError(recoveryCodes.replace('alice', [hash(), bad as string], 2), 'invalid_argument');
    await expectMfaError(recoveryCodes.consume('alice', bad as string), 'invalid_argument');
    await expectMfaError(recoveryCodes.restore('alice', bad as string), 'invalid_argument');
    // The old set is whole.
    expect(await recoveryCodes.countUnused('alice')).toBe(2);
    expect(await recoveryCodes.consume('alice', set[0]!)).toBe(true);
    expect(await keysUnder(client(), keyPrefix)).toHaveLength(1);
  });

  it.each([[-1], [1.5], [Number.NaN], [Number.MAX_SAFE_INTEGER + 1], ['1'], [null]])(
    'rejects the generation %j: MfaError invalid_argument, nothing stored',
    async (bad) => {
      const { recoveryCodes } = stores();
      await expectMfaError(recoveryCodes.replace('alice', [hash()], bad as number), 'invalid_argument');
      expect(await recoveryCodes.countUnused('alice')).toBe(0);
    },
  );

  it('rejects hashes that are not an array: MfaError invalid_argument', async () => {
    const { recoveryCodes } = stores();
    await expectMfaError(recoveryCodes.replace('alice', hash() as unknown as string[], 1), 'invalid_argument');
  });

  it.each<[string, unknown]>([
    ['a lone high surrogate', 'user\uD800'],
    ['a lone low surrogate', '\uDC00user'],
    ['a number', 42],
    ['undefined', undefined],
  ])('rejects a user id that is %s in every method: MfaError invalid_argument', async (_, userId) => {
    const { users, recoveryCodes } = stores();
    const id = userId as string;
    await expectMfaError(users.get(id), 'invalid_argument');
    await expectMfaError(users.put(id, sampleRecord(), null), 'invalid_argument');
    await expectMfaError(recoveryCodes.replace(id, [hash()], 1), 'invalid_argument');
    await expectMfaError(recoveryCodes.consume(id, hash()), 'invalid_argument');
    await expectMfaError(recoveryCodes.restore(id, hash()), 'invalid_argument');
    await expectMfaError(recoveryCodes.countUnused(id), 'invalid_argument');
    await expectMfaError(recoveryCodes.clear(id), 'invalid_argument');
  });

  it('two ids that UTF-8 would encode alike are never confused: the ill-formed one is refused', async () => {
    const { users } = stores();
    expect(Buffer.from('a\uD800', 'utf8').equals(Buffer.from('a\uFFFD', 'utf8'))).toBe(true);
    expect(await users.put('a\uFFFD', sampleRecord(), null)).toBe(true);
    await expectMfaError(users.get('a\uD800'), 'invalid_argument');
  });

  it('a record JSON cannot encode (a BigInt) is refused before anything is written', async () => {
    const { keyPrefix, users } = stores();
    await expect(users.put('alice', { ...sampleRecord(), failures: 1n } as never, null)).rejects.toThrow(TypeError);
    expect(await keysUnder(client(), keyPrefix)).toEqual([]);
  });

  it('a version that cannot be stored is never matched: false, nothing written', async () => {
    const { users } = stores();
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER, '1', undefined]) {
      expect(await users.put('alice', sampleRecord({ failures: 9 }), bad as number)).toBe(false);
    }
    expect(await users.get('alice')).toEqual({ record: sampleRecord(), version: 1 });
  });

  it('a damaged user record (a version but no JSON) is a store_contract error, not a null', async () => {
    const { keyPrefix, users } = stores();
    await client().hset(`${keyPrefix}user:{${sha256('alice')}}`, 'v', '3');
    await expectMfaError(users.get('alice'), 'store_contract');
    await client().hset(`${keyPrefix}user:{${sha256('bob')}}`, 'v', '1e3', 'r', '{}');
    await expectMfaError(users.get('bob'), 'store_contract');
  });

  it('a key of another type under a user key makes Redis reject (WRONGTYPE), unchanged', async () => {
    const { keyPrefix, users, recoveryCodes } = stores();
    await client().set(`${keyPrefix}user:{${sha256('alice')}}`, 'not a hash');
    await client().set(`${keyPrefix}codes:{${sha256('alice')}}`, 'not a hash');
    for (const call of [users.get('alice'), users.put('alice', sampleRecord(), null), recoveryCodes.consume('alice', hash()), recoveryCodes.countUnused('alice')]) {
      expect(String(await rejection(call))).toMatch(/WRONGTYPE/);
    }
  });
});

describe.skipIf(skip !== null)('Redis adapter values', () => {
  it('generations beyond 14 digits and up to the largest safe integer are ordered exactly', async () => {
    const { recoveryCodes } = stores();
    const steps = [10 ** 15, 10 ** 15 + 1, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];
    for (const generation of steps) {
      const set = hashes(1);
      await recoveryCodes.replace('alice', set, generation);
      expect(await recoveryCodes.consume('alice', set[0]!), String(generation)).toBe(true);
      // The same and every older generation are ignored: the used hash stays used.
      for (const older of steps.filter((g) => g <= generation)) {
        await recoveryCodes.replace('alice', hashes(2), older);
        expect(await recoveryCodes.countUnused('alice')).toBe(0);
      }
    }
  });

  it('a generation of 0 is a generation like any other', async () => {
    const { recoveryCodes } = stores();
    const set = hashes(2);
    await recoveryCodes.replace('alice', set, 0);
    expect(await recoveryCodes.countUnused('alice')).toBe(2);
    await recoveryCodes.replace('alice', hashes(3), 0);
    expect(await recoveryCodes.countUnused('alice')).toBe(2);
    await recoveryCodes.replace('alice', hashes(3), 1);
    expect(await recoveryCodes.countUnused('alice')).toBe(3);
  });

  it('duplicate hashes in one replace are stored once', async () => {
    const { recoveryCodes } = stores();
    const [a, b] = hashes(2) as [string, string];
    await recoveryCodes.replace('alice', [a, b, a], 1);
    expect(await recoveryCodes.countUnused('alice')).toBe(2);
    expect(await recoveryCodes.consume('alice', a)).toBe(true);
    expect(await recoveryCodes.consume('alice', a)).toBe(false);
  });

  it('a set of 1,000 hashes is replaced, counted and consumed whole', async () => {
    const { recoveryCodes } = stores();
    const set = hashes(1000);
    await recoveryCodes.replace('alice', set, 1);
    expect(await recoveryCodes.countUnused('alice')).toBe(1000);
    expect(await recoveryCodes.consume('alice', set[999]!)).toBe(true);
    expect(await recoveryCodes.countUnused('alice')).toBe(999);
  });

  it('Lua and Redis syntax in ids and records is data: stored exactly, nothing else touched', async () => {
    const { keyPrefix, users, recoveryCodes } = stores();
    const canary = `${keyPrefix}canary`;
    await client().set(canary, 'alive');
    const nasty = [
      "') redis.call('DEL', KEYS[1]) --",
      ']] redis.call("FLUSHALL") --[[',
      "'; return redis.call('KEYS', '*') --",
      '\r\n*1\r\n$8\r\nFLUSHALL\r\n',
      'KEYS[1]',
      'ARGV[2]',
    ];
    for (const [i, text] of nasty.entries()) {
      const record = sampleRecord({ lockReason: text, accountName: text, failures: i });
      expect(await users.put(text, record, null)).toBe(true);
      expect(await users.get(text)).toEqual({ record, version: 1 });
      const set = hashes(1);
      await recoveryCodes.replace(text, set, 1);
      expect(await recoveryCodes.consume(text, set[0]!)).toBe(true);
    }
    expect(await client().get(canary)).toBe('alive');
    expect(await keysUnder(client(), keyPrefix)).toHaveLength(1 + 2 * nasty.length);
  });

  it('numbers in the record are the JSON digits, never rounded by Lua (no cjson)', async () => {
    const { keyPrefix, users } = stores();
    const sample = sampleRecord();
    const record = sampleRecord({
      lockedUntil: Number.MAX_SAFE_INTEGER,
      pendingTotp: { ...sample.pendingTotp!, expiresAt: 8_640_000_000_000_000 },
      factors: sample.factors.map((f) => (f.kind === 'totp' ? { ...f, lastStep: 123_456_789_012_345 } : f)),
    });
    expect(await users.put('alice', record, null)).toBe(true);
    const json = await client().hget(`${keyPrefix}user:{${sha256('alice')}}`, 'r');
    expect(json).toContain('"lockedUntil":9007199254740991');
    expect(json).toContain('"lastStep":123456789012345');
    expect((await users.get('alice'))?.record).toEqual(record);
  });

  it('runs a script with EVAL when the server answers NOSCRIPT (its script cache was flushed)', async () => {
    const real = client();
    let noscripts = 0;
    const flushed: RedisClient = {
      evalsha: (async () => {
        noscripts++;
        throw new Error('NOSCRIPT No matching script. Please use EVAL.');
      }) as never,
      eval: real.eval.bind(real),
      hget: real.hget.bind(real),
      hmget: real.hmget.bind(real),
    };
    const keyPrefix = freshPrefix(RUN);
    const users = new RedisUserStore(flushed, { keyPrefix });
    const recoveryCodes = new RedisRecoveryCodeStore(flushed, { keyPrefix });
    const set = hashes(2);
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    await recoveryCodes.replace('alice', set, 1);
    expect(await recoveryCodes.consume('alice', set[0]!)).toBe(true);
    expect(await recoveryCodes.countUnused('alice')).toBe(1);
    expect(noscripts).toBe(4);
  });

  it('other Redis errors of EVALSHA propagate unchanged, without a second try', async () => {
    const real = client();
    const failure = new Error('LOADING Redis is loading the dataset in memory');
    let evals = 0;
    const loading: RedisClient = {
      evalsha: (async () => {
        throw failure;
      }) as never,
      eval: (async () => {
        evals++;
      }) as never,
      hget: real.hget.bind(real),
      hmget: real.hmget.bind(real),
    };
    const users = new RedisUserStore(loading, { keyPrefix: freshPrefix(RUN) });
    expect(await rejection(users.put('alice', sampleRecord(), null))).toBe(failure);
    expect(evals).toBe(0);
  });
});

describe.skipIf(skip !== null)('Redis adapter under MfaService: awkward user ids', () => {
  const ids = ["O'Brien \"quoted\"", 'nul\u0000inside', '\u0000', 'émoji 🔐👩‍💻 مستخدم', '{user}', 'user:*', '*', ':', '[a-z]?', 'x'.repeat(10_240), `${'y'.repeat(10_239)}🔐`];

  it('enroll, login, recovery code and status keep each id exactly and apart', async () => {
    const { users, recoveryCodes } = stores();
    let now = Date.UTC(2025, 0, 1, 0, 0, 5);
    const mfa = new MfaService({ issuer: 'Redis', secretKey: randomBytes(32), users, recoveryCodes, now: () => now });
    const enrolled: Array<{ secret: string; codes: string[] }> = [];
    for (const userId of ids) {
      const begun = await mfa.beginEnrollment(userId, { accountName: 'someone' });
      if (!begun.ok) throw new Error(begun.reason);
      expect(await mfa.confirmEnrollment(userId, generateTotp(begun.secret, { now }))).toMatchObject({ ok: true });
      const revealed = await mfa.revealRecoveryCodes(userId);
      if (!revealed.ok) throw new Error(revealed.reason);
      enrolled.push({ secret: begun.secret, codes: revealed.codes });
    }
    now += 30_000;
    for (const [i, userId] of ids.entries()) {
      expect(await mfa.status(userId), JSON.stringify(userId.slice(0, 20))).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10 });
      const started = await mfa.startLogin(userId);
      if (!started.ok || !started.mfaRequired) throw new Error('no challenge');
      const result = await mfa.verifyLogin(started.challenge, { totp: generateTotp(enrolled[i]!.secret, { now }) });
      expect(result).toMatchObject({ ok: true, method: 'totp' });
      expect(result.ok && result.userId).toBe(userId);
      // Another id's recovery code is not this id's.
      const neighbour = enrolled[(i + 1) % ids.length]!.codes[0]!;
      const again = await mfa.startLogin(userId);
      if (!again.ok || !again.mfaRequired) throw new Error('no challenge');
      expect(await mfa.verifyLogin(again.challenge, { recoveryCode: neighbour })).toMatchObject({ ok: false, reason: 'invalid_code' });
      const third = await mfa.startLogin(userId);
      if (!third.ok || !third.mfaRequired) throw new Error('no challenge');
      expect(await mfa.verifyLogin(third.challenge, { recoveryCode: enrolled[i]!.codes[i % 10]! })).toMatchObject({ ok: true, userId, recoveryCodesRemaining: 9 });
    }
    for (const userId of ids) expect(await mfa.status(userId)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 9 });
    for (const userId of ['{USER}', 'user:', 'x'.repeat(10_239), 'nul']) {
      expect(await mfa.status(userId)).toMatchObject({ state: 'registered' });
    }
  });
});
