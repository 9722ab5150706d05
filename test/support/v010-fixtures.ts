/**
 * Records written by the released 0.1.0 code (commit 0c710b8), kept in
 * test/fixtures/v0.1.0/ by scripts/make-v010-fixtures.ts, and the means to
 * put them back into a store of the CURRENT code exactly as 0.1.0 left them:
 *
 * - {@link loadV010Fixture}: the parsed JSON of `memory`, `postgres` or `redis`.
 * - {@link restoreMemory}: into a MemoryUserStore / MemoryRecoveryCodeStore,
 *   through their public API (the memory stores cannot be written otherwise).
 * - {@link restorePostgres}: the current `migrate`, then the raw rows.
 * - {@link restoreRedis}: the raw keys, byte for byte, under a prefix of your choice.
 * - {@link dumpPostgres} / {@link dumpRedis}: the same raw view the fixtures
 *   hold, to compare a store's state with them.
 *
 * The records are typed loosely ({@link V010Record}) on purpose: they are
 * 0.1.0's layout (`schema: 1`), whatever the current MfaRecord is.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { RecoveryCodeStore, UserStore } from 'twofold';
import { migrate, type Queryable } from 'twofold/adapters/postgres';

export type FixtureKind = 'memory' | 'postgres' | 'redis';

/** The users of every fixture, by label. */
export type V010UserLabel = 'alice' | 'bob' | 'carol' | 'dave' | 'erin' | 'frank' | 'obrien';

export const V010_USER_LABELS: readonly V010UserLabel[] = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'obrien'];

/**
 * A record as 0.1.0 persisted it (layout `schema: 1`). Only the fields a
 * test is likely to reach for are named; the rest are there in the JSON.
 */
export interface V010Record {
  schema: 1;
  state: 'registered' | 'enrolling' | 'enabled';
  secret: string | null;
  pendingSecret: string | null;
  pendingExpiresAt: number | null;
  lastStep: number | null;
  recoveryCodeSet: string | null;
  recoveryCodeGeneration: number;
  unrevealedCodes: string | null;
  lockedUntil: number | null;
  lockedIndefinitely: boolean;
  challengeEpoch: number;
  spentChallenges: Array<{ id: string; expiresAt: number }>;
  emailRecovery: { tokenHash: string; requestedAt: number; notBefore: number; expiresAt: number; status: 'pending' | 'cancelled' } | null;
  [field: string]: unknown;
}

/** Bytes as a string when they are valid UTF-8 (and round-trip exactly), else as hex. */
export type RawBytes = string | { hex: string };

/** One user of the fixture: who they are, what the test needs to act as them, and how 0.1.0 saw them. */
export interface V010User {
  label: V010UserLabel;
  userId: string;
  /** Hex SHA-256 of the UTF-8 user id: the PostgreSQL `user_key` and the `{…}` of the Redis keys. */
  userKeyHex: string;
  accountName: string;
  /** What was done to the user, in words. */
  story: string;
  /** Base32 TOTP secret from beginEnrollment (for carol: the pending, never confirmed, one; for frank: the disabled one). */
  secret: string | null;
  /** The codes revealRecoveryCodes showed, in order; null when never revealed. */
  recoveryCodes: string[] | null;
  /** The code (one of `recoveryCodes`) spent in a login; null when none. */
  usedRecoveryCode: string | null;
  /**
   * The plaintext of the record's sealed `unrevealedCodes`, opened by the
   * generator with the root key (0.1.0 never showed them); null when none.
   */
  unrevealedCodes: string[] | null;
  /** The token requestEmailRecovery returned (the host would email it); null when none. */
  emailToken: string | null;
  /** Every TOTP code the generator submitted, with its time; the accepted ones set `lastStep`. */
  totpSubmitted: Array<{ at: number; code: string; accepted: boolean }>;
  /** What 0.1.0's `status(userId)` answered at `now`. */
  statusAtNow: Record<string, unknown>;
}

export interface V010TimelineEntry {
  at: number;
  user: V010UserLabel;
  op: string;
  /** `ok`, or the failure reason. */
  outcome: string;
}

interface V010FixtureBase {
  kind: FixtureKind;
  twofoldVersion: '0.1.0';
  /** Full commit hash of the code that wrote the records. */
  commit: string;
  /** How the file was made. */
  generatedBy: string;
  /** The MfaService `secretKey` (hex, 32 bytes). */
  rootKey: string;
  /** The clock at the end of the run (ms since epoch): every "state" below holds at this instant. */
  now: number;
  nowIso: string;
  /** MfaService options besides stores, key and clock (everything else at 0.1.0's defaults). */
  serviceOptions: { issuer: string };
  users: Record<V010UserLabel, V010User>;
  timeline: V010TimelineEntry[];
  notes: string[];
}

export interface MemoryFixture extends V010FixtureBase {
  kind: 'memory';
  memory: {
    /** `users.get(userId)` for every user, plus `json`: the text the store keeps (JSON.stringify of the record). */
    users: Array<{ label: V010UserLabel; userId: string; version: number; record: V010Record; json: string }>;
    /**
     * Each user's recovery-code set as the store holds it (order of the
     * hashes as replaced, used flag per hash). Users without a set are absent.
     */
    recoveryCodes: Array<{ label: V010UserLabel; userId: string; generation: number; hashes: Array<{ hash: string; used: boolean }> }>;
  };
}

export interface PostgresUserRow {
  /** bytea, hex. */
  user_key: string;
  /** The exact text stored. */
  record: string;
  /** bigint, as text. */
  version: string;
}

export interface PostgresRecoveryCodeRow {
  user_key: string;
  generation: string;
  /** bytea[], each hex, in array order. */
  hashes: string[];
  /** timestamptz[]: UTC, microseconds, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or null (unused). */
  used_at: Array<string | null>;
}

export interface PostgresColumn {
  table: string;
  column: string;
  type: string;
  nullable: boolean;
}

export interface PostgresDump {
  twofold_users: PostgresUserRow[];
  twofold_recovery_codes: PostgresRecoveryCodeRow[];
}

export interface PostgresFixture extends V010FixtureBase {
  kind: 'postgres';
  postgres: PostgresDump & {
    /** The schema the generator wrote into (restore anywhere). */
    schema: string;
    /** The columns of 0.1.0's tables (information_schema), for reference. */
    columns: PostgresColumn[];
    /** The user ids of the rows, by hex user_key (the table holds only the hash). */
    userIdsByKey: Record<string, string>;
  };
}

export interface RedisKeyDump {
  /** The whole key, prefix included. */
  key: RawBytes;
  type: string;
  /** PTTL: -1 for no expiry. */
  pttl: number;
  /** For a hash: every field and value, sorted by field bytes (Redis keeps no meaningful order). */
  hash?: Array<[RawBytes, RawBytes]>;
  /** For a string. */
  value?: RawBytes;
  /** For a set: members sorted by bytes. */
  members?: RawBytes[];
  /** For a list, in order. */
  items?: RawBytes[];
  /** For a sorted set: [member, score] in ZRANGE order. */
  scored?: Array<[RawBytes, string]>;
}

export interface RedisFixture extends V010FixtureBase {
  kind: 'redis';
  redis: {
    keyPrefix: string;
    /** Every key under the prefix, sorted by key bytes. */
    keys: RedisKeyDump[];
    /** The user ids, by key. */
    userIdsByKey: Record<string, string>;
  };
}

export type V010Fixture = MemoryFixture | PostgresFixture | RedisFixture;

type FixtureOf<K extends FixtureKind> = Extract<V010Fixture, { kind: K }>;

const FIXTURE_DIR = new URL('../fixtures/v0.1.0/', import.meta.url);

/** The parsed fixture of `kind` (a fresh copy on every call: mutate freely). */
export function loadV010Fixture<K extends FixtureKind>(kind: K): FixtureOf<K> {
  const fixture = JSON.parse(readFileSync(new URL(`${kind}.json`, FIXTURE_DIR), 'utf8')) as V010Fixture;
  if (fixture.kind !== kind || fixture.twofoldVersion !== '0.1.0') throw new Error(`test/fixtures/v0.1.0/${kind}.json is not the 0.1.0 ${kind} fixture`);
  return fixture as FixtureOf<K>;
}

// ---- bytes ----

export function rawToBuffer(raw: RawBytes): Buffer {
  return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.hex, 'hex');
}

export function bufferToRaw(bytes: Buffer): RawBytes {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : { hex: bytes.toString('hex') };
}

// ---- memory ----

/**
 * Puts the memory fixture into a memory user store and code store, through
 * their public API: each record is created with `put(userId, record, null)`
 * and written again (unchanged) until its version is the fixture's; each code
 * set is `replace`d with its generation and its used hashes `consume`d.
 * Works on any UserStore / RecoveryCodeStore, not only the memory ones.
 */
export async function restoreMemory(users: UserStore, codes: RecoveryCodeStore, fixture: MemoryFixture = loadV010Fixture('memory')): Promise<void> {
  for (const { userId, version, record } of fixture.memory.users) {
    // The record is 0.1.0's layout, which the current MfaRecord type may no longer describe.
    const stored = record as unknown as Parameters<UserStore['put']>[1];
    if (!(await users.put(userId, stored, null))) throw new Error(`restoreMemory: a record already exists for ${JSON.stringify(userId)}`);
    for (let v = 1; v < version; v++) {
      if (!(await users.put(userId, stored, v))) throw new Error(`restoreMemory: could not bring ${JSON.stringify(userId)} to version ${version}`);
    }
  }
  for (const { userId, generation, hashes } of fixture.memory.recoveryCodes) {
    await codes.replace(
      userId,
      hashes.map((h) => h.hash),
      generation,
    );
    for (const { hash, used } of hashes) {
      if (used && !(await codes.consume(userId, hash))) throw new Error(`restoreMemory: could not mark a hash of ${JSON.stringify(userId)} used`);
    }
  }
}

// ---- PostgreSQL ----

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function table(schema: string, name: 'twofold_users' | 'twofold_recovery_codes'): string {
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) throw new Error(`invalid schema name ${schema}`);
  return `"${schema}".${name}`;
}

/**
 * Creates `schema` and its tables with the CURRENT `migrate`, then inserts
 * the fixture's rows exactly (bytes, record text, versions, generations,
 * used_at timestamps). The tables must not hold these users yet.
 */
export async function restorePostgres(pool: Queryable, schema: string, fixture: PostgresFixture = loadV010Fixture('postgres')): Promise<void> {
  await migrate(pool, { schema });
  for (const row of fixture.postgres.twofold_users) {
    await pool.query(`INSERT INTO ${table(schema, 'twofold_users')} (user_key, record, version) VALUES (decode($1, 'hex'), $2::text, $3::bigint)`, [
      row.user_key,
      row.record,
      row.version,
    ]);
  }
  for (const row of fixture.postgres.twofold_recovery_codes) {
    await pool.query(
      `INSERT INTO ${table(schema, 'twofold_recovery_codes')} (user_key, generation, hashes, used_at)
       VALUES (decode($1, 'hex'), $2::bigint,
         ARRAY(SELECT decode(h, 'hex') FROM unnest($3::text[]) WITH ORDINALITY AS u(h, i) ORDER BY i),
         $4::timestamptz[])`,
      [row.user_key, row.generation, row.hashes, row.used_at],
    );
  }
}

/** Every row of twofold's two tables in `schema`, in the fixture's raw form, ordered by user_key. */
export async function dumpPostgres(pool: Queryable, schema: string): Promise<PostgresDump> {
  const users = await pool.query(
    `SELECT encode(user_key, 'hex') AS user_key, record, version::text AS version FROM ${table(schema, 'twofold_users')} ORDER BY user_key`,
  );
  const codes = await pool.query(
    `SELECT encode(user_key, 'hex') AS user_key, generation::text AS generation,
       ARRAY(SELECT encode(h, 'hex') FROM unnest(hashes) WITH ORDINALITY AS u(h, i) ORDER BY i) AS hashes,
       ARRAY(SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM unnest(used_at) WITH ORDINALITY AS u(t, i) ORDER BY i) AS used_at
     FROM ${table(schema, 'twofold_recovery_codes')} ORDER BY user_key`,
  );
  return {
    twofold_users: users.rows as unknown as PostgresUserRow[],
    twofold_recovery_codes: codes.rows as unknown as PostgresRecoveryCodeRow[],
  };
}

// ---- Redis ----

function withPrefix(key: RawBytes, from: string, to: string): Buffer {
  const bytes = rawToBuffer(key);
  const old = Buffer.from(from, 'utf8');
  if (!bytes.subarray(0, old.length).equals(old)) throw new Error(`fixture key ${bytes.toString('utf8')} is not under ${from}`);
  return Buffer.concat([Buffer.from(to, 'utf8'), bytes.subarray(old.length)]);
}

/** The fixture's key dumps with `from` (the fixture's prefix) replaced by `to`: what {@link dumpRedis} gives after {@link restoreRedis} under `to`. */
export function rebaseRedisKeys(keys: readonly RedisKeyDump[], from: string, to: string): RedisKeyDump[] {
  return keys
    .map((dump) => ({ ...dump, key: bufferToRaw(withPrefix(dump.key, from, to)) }))
    .sort((a, b) => Buffer.compare(rawToBuffer(a.key), rawToBuffer(b.key)));
}

/**
 * Writes every fixture key under `prefix` instead of the fixture's own
 * prefix, byte for byte (a key already there is replaced). Use the same
 * `prefix` as the stores' `keyPrefix`. Returns the keys written.
 */
export async function restoreRedis(redis: Redis, prefix: string, fixture: RedisFixture = loadV010Fixture('redis')): Promise<Buffer[]> {
  const written: Buffer[] = [];
  for (const dump of fixture.redis.keys) {
    const key = withPrefix(dump.key, fixture.redis.keyPrefix, prefix);
    await redis.del(key);
    if (dump.type === 'hash' && dump.hash) {
      await redis.hset(key, ...dump.hash.flatMap(([field, value]) => [rawToBuffer(field), rawToBuffer(value)]));
    } else if (dump.type === 'string' && dump.value !== undefined) {
      await redis.set(key, rawToBuffer(dump.value));
    } else if (dump.type === 'set' && dump.members) {
      await redis.sadd(key, ...dump.members.map(rawToBuffer));
    } else if (dump.type === 'list' && dump.items) {
      await redis.rpush(key, ...dump.items.map(rawToBuffer));
    } else if (dump.type === 'zset' && dump.scored) {
      await redis.zadd(key, ...dump.scored.flatMap(([member, score]) => [score, rawToBuffer(member)]));
    } else {
      throw new Error(`restoreRedis: cannot write a key of type ${dump.type}`);
    }
    if (dump.pttl > 0) await redis.pexpire(key, dump.pttl);
    written.push(key);
  }
  return written;
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

const byBytes = (a: Buffer, b: Buffer): number => Buffer.compare(a, b);

/** Every key under `prefix` (client without its own keyPrefix) in the fixture's raw form, sorted by key bytes. */
export async function dumpRedis(redis: Redis, prefix: string): Promise<RedisKeyDump[]> {
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scanBuffer(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = String(next);
  } while (cursor !== '0');
  keys.sort(byBytes);
  const dumps: RedisKeyDump[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    const dump: RedisKeyDump = { key: bufferToRaw(key), type, pttl: await redis.pttl(key) };
    if (type === 'hash') {
      const flat = (await redis.callBuffer('HGETALL', key)) as Buffer[];
      const pairs: Array<[Buffer, Buffer]> = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
      pairs.sort((a, b) => byBytes(a[0], b[0]));
      dump.hash = pairs.map(([field, value]) => [bufferToRaw(field), bufferToRaw(value)]);
    } else if (type === 'string') {
      dump.value = bufferToRaw((await redis.getBuffer(key))!);
    } else if (type === 'set') {
      dump.members = (await redis.smembersBuffer(key)).sort(byBytes).map(bufferToRaw);
    } else if (type === 'list') {
      dump.items = (await redis.lrangeBuffer(key, 0, -1)).map(bufferToRaw);
    } else if (type === 'zset') {
      const flat = (await redis.callBuffer('ZRANGE', key, '0', '-1', 'WITHSCORES')) as Buffer[];
      const scored: Array<[RawBytes, string]> = [];
      for (let i = 0; i < flat.length; i += 2) scored.push([bufferToRaw(flat[i]!), flat[i + 1]!.toString('utf8')]);
      dump.scored = scored;
    } else {
      throw new Error(`dumpRedis: unexpected key type ${type}`);
    }
    dumps.push(dump);
  }
  return dumps;
}
