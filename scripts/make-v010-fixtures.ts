/**
 * Writes test/fixtures/v0.1.0/{memory,postgres,redis}.json: real records
 * written by the released 0.1.0 code (commit 0c710b8) through its own
 * MfaService over each store, so later versions can prove they read and
 * upgrade them. Run it against a checkout of 0.1.0, never against the
 * current sources:
 *
 *   git worktree add /tmp/twofold-010 0c710b8
 *   ln -s "$PWD/node_modules" /tmp/twofold-010/node_modules   # or: (cd /tmp/twofold-010 && npm ci)
 *   (cd /tmp/twofold-010 && node --import tsx "$OLDPWD/scripts/make-v010-fixtures.ts" \
 *       --src /tmp/twofold-010/src --out "$OLDPWD/test/fixtures/v0.1.0")
 *   git worktree remove /tmp/twofold-010 --force
 *
 * Needs PostgreSQL (TWOFOLD_TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test) and Redis (TWOFOLD_TEST_REDIS_URL,
 * default redis://127.0.0.1:6379). It uses schema `twofold_v010_fixture` and
 * key prefix `twofold-v010:`, empties both first and removes them at the end.
 *
 * The root key and the clock are fixed; secrets, recovery codes, set ids,
 * tokens, Redis write/consume ids and PostgreSQL's used_at (the database's
 * own now()) are random or real time, so each run writes different files.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import type {
  FixtureKind,
  MemoryFixture,
  PostgresColumn,
  PostgresDump,
  PostgresFixture,
  PostgresRecoveryCodeRow,
  PostgresUserRow,
  RawBytes,
  RedisFixture,
  RedisKeyDump,
  V010Record,
  V010TimelineEntry,
  V010User,
  V010UserLabel,
} from '../test/support/v010-fixtures.ts';

// ---- fixed inputs ----

const EXPECTED_COMMIT = '0c710b8';
const ROOT_KEY = '5a'.repeat(32);
const NOW = Date.UTC(2026, 0, 15, 12, 0, 5);
const ISSUER = 'Twofold Fixtures';
const PG_SCHEMA = 'twofold_v010_fixture';
const REDIS_PREFIX = 'twofold-v010:';
const SECOND = 1000;
const MINUTE = 60 * SECOND;

const USERS: Record<V010UserLabel, { userId: string; accountName: string }> = {
  alice: { userId: 'alice', accountName: 'alice@example.com' },
  bob: { userId: 'bob', accountName: 'bob@example.com' },
  carol: { userId: 'carol', accountName: 'carol@example.com' },
  dave: { userId: 'dave', accountName: 'dave@example.com' },
  erin: { userId: 'erin', accountName: 'erin@example.com' },
  frank: { userId: 'frank', accountName: 'frank@example.com' },
  obrien: { userId: "o'brien \u0000 🔐", accountName: "o'brien 🔐 @example.com" },
};
const LABELS = Object.keys(USERS) as V010UserLabel[];

// ---- the 0.1.0 surface used here (typed locally: the current types describe another layout) ----

type Result = { ok: boolean; reason?: string } & Record<string, unknown>;

interface UserStoreLike {
  get(userId: string): Promise<{ record: V010Record; version: number } | null>;
  put(userId: string, record: V010Record, expectedVersion: number | null): Promise<boolean>;
}
interface CodeStoreLike {
  replace(userId: string, hashes: readonly string[], generation: number): Promise<void>;
  consume(userId: string, hash: string): Promise<boolean>;
  restore(userId: string, hash: string): Promise<void>;
  countUnused(userId: string): Promise<number>;
  clear(userId: string): Promise<void>;
}
interface ServiceLike {
  status(userId: string): Promise<Record<string, unknown>>;
  beginEnrollment(userId: string, options: { accountName: string }): Promise<Result & { secret?: string }>;
  confirmEnrollment(userId: string, code: string): Promise<Result>;
  revealRecoveryCodes(userId: string): Promise<Result & { codes?: string[] }>;
  startLogin(userId: string): Promise<Result & { challenge?: string }>;
  verifyLogin(challenge: string, proof: { totp: string } | { recoveryCode: string }): Promise<Result>;
  disable(userId: string, proof: { totp: string }): Promise<Result>;
  requestEmailRecovery(userId: string): Promise<Result & { token?: string }>;
}
interface V010 {
  MfaService: new (options: Record<string, unknown>) => ServiceLike;
  MemoryUserStore: new () => UserStoreLike & { readonly size: number };
  MemoryRecoveryCodeStore: new () => CodeStoreLike;
  generateTotp(secret: string, options: { now: number }): string;
  hashRecoveryCode(userId: string, code: string, key: Uint8Array): string;
  createKeyRing(options: { secretKey: string }): {
    openText(sealed: string, userId: string, purpose: string): string;
    macKeys(purpose: 'recovery-code'): readonly Uint8Array[];
  };
  postgres: {
    migrate(db: pg.Pool, options: { schema: string }): Promise<void>;
    PostgresUserStore: new (db: pg.Pool, options: { schema: string }) => UserStoreLike;
    PostgresRecoveryCodeStore: new (db: pg.Pool, options: { schema: string }) => CodeStoreLike;
  };
  redis: {
    RedisUserStore: new (client: Redis, options: { keyPrefix: string }) => UserStoreLike;
    RedisRecoveryCodeStore: new (client: Redis, options: { keyPrefix: string }) => CodeStoreLike;
  };
}

async function load010(src: string): Promise<V010> {
  const at = (path: string) => import(pathToFileURL(join(src, path)).href);
  const [main, seal, postgres, redis] = await Promise.all([at('index.ts'), at('seal.ts'), at('stores/postgres/index.ts'), at('stores/redis/index.ts')]);
  return { ...main, createKeyRing: seal.createKeyRing, postgres, redis } as V010;
}

// ---- helpers ----

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`make-v010-fixtures: ${message}`);
}

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

function bufferToRaw(bytes: Buffer): RawBytes {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : { hex: bytes.toString('hex') };
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** A MemoryRecoveryCodeStore keeps its sets in private fields: this wrapper mirrors every call it receives into a plain, dumpable copy. */
class RecordingCodeStore implements CodeStoreLike {
  readonly sets = new Map<string, { generation: number; hashes: Array<{ hash: string; used: boolean }> }>();
  constructor(readonly inner: CodeStoreLike) {}

  async replace(userId: string, hashes: readonly string[], generation: number): Promise<void> {
    await this.inner.replace(userId, hashes, generation);
    const current = this.sets.get(userId);
    if (current && generation <= current.generation) return;
    this.sets.set(userId, { generation, hashes: hashes.map((hash) => ({ hash, used: false })) });
  }
  async consume(userId: string, hash: string): Promise<boolean> {
    const consumed = await this.inner.consume(userId, hash);
    const entry = this.sets.get(userId)?.hashes.find((h) => h.hash === hash);
    check(consumed === (entry !== undefined && !entry.used), 'the memory code store and its mirror disagree on a consume');
    if (consumed) entry!.used = true;
    return consumed;
  }
  async restore(userId: string, hash: string): Promise<void> {
    await this.inner.restore(userId, hash);
    const entry = this.sets.get(userId)?.hashes.find((h) => h.hash === hash);
    if (entry) entry.used = false;
  }
  countUnused(userId: string): Promise<number> {
    return this.inner.countUnused(userId);
  }
  async clear(userId: string): Promise<void> {
    await this.inner.clear(userId);
    this.sets.delete(userId);
  }
}

// ---- the scenario ----

interface ScenarioOutcome {
  users: Record<V010UserLabel, V010User>;
  timeline: V010TimelineEntry[];
}

/** Drives 0.1.0's MfaService over `users`/`codes` through every user's story; the clock ends at NOW. */
async function runScenario(v010: V010, users: UserStoreLike, codes: CodeStoreLike): Promise<ScenarioOutcome> {
  let clock = NOW - 11 * MINUTE;
  const service = new v010.MfaService({ issuer: ISSUER, secretKey: ROOT_KEY, users, recoveryCodes: codes, now: () => clock });
  const ring = v010.createKeyRing({ secretKey: ROOT_KEY });
  const timeline: V010TimelineEntry[] = [];
  const out = {} as Record<V010UserLabel, V010User>;
  for (const label of LABELS) {
    const { userId, accountName } = USERS[label];
    out[label] = {
      label,
      userId,
      userKeyHex: sha256Hex(userId),
      accountName,
      story: '',
      secret: null,
      recoveryCodes: null,
      usedRecoveryCode: null,
      unrevealedCodes: null,
      emailToken: null,
      totpSubmitted: [],
      statusAtNow: {},
    };
  }

  const at = (t: number): void => {
    check(t >= clock, 'the clock only moves forward');
    clock = t;
  };
  const note = (label: V010UserLabel, op: string, result: Result, expect: string = 'ok'): void => {
    const outcome = result.ok ? 'ok' : String(result.reason);
    timeline.push({ at: clock, user: label, op, outcome });
    check(outcome === expect, `${label} ${op}: expected ${expect}, got ${JSON.stringify(result)}`);
  };
  const totp = (label: V010UserLabel): string => v010.generateTotp(out[label].secret!, { now: clock });

  const begin = async (label: V010UserLabel): Promise<void> => {
    const result = await service.beginEnrollment(out[label].userId, { accountName: out[label].accountName });
    note(label, 'beginEnrollment', result);
    out[label].secret = result.secret!;
  };
  const confirm = async (label: V010UserLabel): Promise<void> => {
    const code = totp(label);
    const result = await service.confirmEnrollment(out[label].userId, code);
    note(label, 'confirmEnrollment', result);
    out[label].totpSubmitted.push({ at: clock, code, accepted: true });
  };
  const reveal = async (label: V010UserLabel): Promise<void> => {
    const result = await service.revealRecoveryCodes(out[label].userId);
    note(label, 'revealRecoveryCodes', result);
    out[label].recoveryCodes = result.codes!;
  };
  const enable = async (label: V010UserLabel, start: number, revealCodes: boolean): Promise<void> => {
    at(start);
    await begin(label);
    at(start + 5 * SECOND);
    await confirm(label);
    if (revealCodes) {
      at(start + 10 * SECOND);
      await reveal(label);
    }
  };

  // alice: enabled, codes revealed, a TOTP login, then a login with one recovery code.
  await enable('alice', NOW - 10 * MINUTE, true);
  // bob: enabled, codes never revealed.
  await enable('bob', NOW - 9 * MINUTE, false);
  // dave: enabled, codes revealed; locked below.
  await enable('dave', NOW - 8 * MINUTE, true);
  // erin: enabled, codes revealed; email recovery requested below.
  await enable('erin', NOW - 7 * MINUTE, true);
  // frank: enabled, codes revealed; disabled below.
  await enable('frank', NOW - 6 * MINUTE, true);
  // o'brien: an awkward id, enabled, codes revealed.
  await enable('obrien', NOW - 5 * MINUTE, true);

  at(NOW - 3 * MINUTE);
  {
    const code = totp('frank');
    note('frank', 'disable(totp)', await service.disable(USERS.frank.userId, { totp: code }));
    out.frank.totpSubmitted.push({ at: clock, code, accepted: true });
  }

  at(NOW - 2 * MINUTE);
  {
    const start = await service.startLogin(USERS.alice.userId);
    note('alice', 'startLogin', start);
    check(start.mfaRequired === true, 'alice needs MFA');
    at(NOW - 2 * MINUTE + 2 * SECOND);
    const code = totp('alice');
    note('alice', 'verifyLogin(totp)', await service.verifyLogin(start.challenge!, { totp: code }));
    out.alice.totpSubmitted.push({ at: clock, code, accepted: true });
  }
  at(NOW - 2 * MINUTE + 10 * SECOND);
  {
    const result = await service.requestEmailRecovery(USERS.erin.userId);
    note('erin', 'requestEmailRecovery', result);
    out.erin.emailToken = result.token!;
  }

  at(NOW - MINUTE);
  {
    const start = await service.startLogin(USERS.alice.userId);
    note('alice', 'startLogin', start);
    at(NOW - MINUTE + 2 * SECOND);
    const used = out.alice.recoveryCodes![3]!;
    note('alice', 'verifyLogin(recoveryCode)', await service.verifyLogin(start.challenge!, { recoveryCode: used }));
    out.alice.usedRecoveryCode = used;
  }
  at(NOW - MINUTE + 10 * SECOND);
  // carol: enrollment begun, never confirmed; pendingExpiresAt = NOW + 9 min.
  await begin('carol');

  at(NOW - 30 * SECOND);
  {
    const start = await service.startLogin(USERS.dave.userId);
    note('dave', 'startLogin', start);
    for (let i = 1; i <= 5; i++) {
      at(NOW - 30 * SECOND + i * SECOND);
      const valid = new Set([-1, 0, 1].map((delta) => v010.generateTotp(out.dave.secret!, { now: clock + delta * 30 * SECOND })));
      const wrong = ['000000', '111111', '222222', '333333'].find((code) => !valid.has(code))!;
      const result = await service.verifyLogin(start.challenge!, { totp: wrong });
      note('dave', 'verifyLogin(wrong totp)', result, i < 5 ? 'invalid_code' : 'locked');
      out.dave.totpSubmitted.push({ at: clock, code: wrong, accepted: false });
    }
  }

  at(NOW);
  for (const label of LABELS) {
    const user = out[label];
    user.statusAtNow = await service.status(user.userId);
    const stored = await users.get(user.userId);
    check(stored !== null, `${label} has a record`);
    check(stored.record.schema === 1, `${label}'s record has schema 1`);
    if (stored.record.unrevealedCodes !== null) {
      user.unrevealedCodes = JSON.parse(ring.openText(stored.record.unrevealedCodes, user.userId, 'recovery-codes')) as string[];
    }
  }

  out.alice.story =
    'Enabled at now-10m (confirm at now-9m55s), codes revealed, TOTP login at now-1m58s (lastStep), then a login at now-58s with recoveryCodes[3] (usedRecoveryCode): two spent challenges still alive at now.';
  out.bob.story = 'Enabled at now-9m (confirm at now-8m55s); the recovery codes were never revealed (unrevealedCodes holds them, sealed; store set is generation 1).';
  out.carol.story = 'beginEnrollment at now-50s only: state enrolling, pendingSecret sealed, pendingExpiresAt now+9m10s; `secret` is that pending secret.';
  out.dave.story = 'Enabled at now-8m, codes revealed; at now-29s..now-25s five wrong TOTP codes on one challenge: temporarily locked (lockedUntil now+35s, lockCount 1, lockReason failures).';
  out.erin.story = 'Enabled at now-7m, codes revealed; requestEmailRecovery at now-1m50s: pending, notBefore +24h, expiresAt +72h; `emailToken` is the emailed token.';
  out.frank.story = 'Enabled at now-6m, codes revealed, disabled with a TOTP code at now-3m: a registered record remains, code set cleared.';
  out.obrien.story = 'User id with a quote, a NUL and an emoji; enabled at now-5m, codes revealed.';

  // Telling states, checked on the records themselves.
  const record = async (label: V010UserLabel): Promise<V010Record> => (await users.get(USERS[label].userId))!.record;
  const alice = await record('alice');
  check(alice.state === 'enabled' && alice.unrevealedCodes === null && alice.lastStep === Math.floor((NOW - 2 * MINUTE + 2 * SECOND) / 30_000), 'alice');
  check(alice.spentChallenges.length === 2 && alice.recoveryCodeGeneration === 2, 'alice spent challenges and generation');
  const bob = await record('bob');
  check(bob.state === 'enabled' && bob.unrevealedCodes !== null && bob.recoveryCodeGeneration === 1, 'bob');
  const carol = await record('carol');
  check(carol.state === 'enrolling' && carol.pendingSecret !== null && carol.pendingExpiresAt! > NOW && carol.secret === null, 'carol');
  const dave = await record('dave');
  check(dave.state === 'enabled' && dave.lockedUntil! > NOW && dave.lockReason === 'failures' && dave.lockCount === 1, 'dave');
  const erin = await record('erin');
  check(erin.emailRecovery?.status === 'pending' && erin.emailRecovery.notBefore > NOW, 'erin');
  const frank = await record('frank');
  check(frank.state === 'registered' && frank.secret === null && frank.recoveryCodeGeneration === 2, 'frank');
  const obrien = await record('obrien');
  check(obrien.state === 'enabled', 'obrien');

  return { users: out, timeline };
}

/** The hashes 0.1.0 must have given the store for `codes` of the record's live set. */
function expectedHashes(v010: V010, userId: string, setId: string, codes: readonly string[]): string[] {
  const [key] = v010.createKeyRing({ secretKey: ROOT_KEY }).macKeys('recovery-code');
  const setKey = createHmac('sha256', key!).update(`recovery-code-set:${setId}`).digest();
  return codes.map((code) => v010.hashRecoveryCode(userId, code, setKey));
}

/** What each user's code set must be: generation, hashes in order and which is used; null when no set. */
async function expectedSets(
  v010: V010,
  users: UserStoreLike,
  outcome: ScenarioOutcome,
): Promise<Map<V010UserLabel, { generation: number; hashes: string[]; used: boolean[] } | null>> {
  const sets = new Map<V010UserLabel, { generation: number; hashes: string[]; used: boolean[] } | null>();
  for (const label of LABELS) {
    const user = outcome.users[label];
    const record = (await users.get(user.userId))!.record;
    const codes = user.recoveryCodes ?? user.unrevealedCodes;
    if (record.recoveryCodeSet === null || codes === null) {
      sets.set(label, null);
      continue;
    }
    sets.set(label, {
      generation: record.recoveryCodeGeneration,
      hashes: expectedHashes(v010, user.userId, record.recoveryCodeSet, codes),
      used: codes.map((code) => code === user.usedRecoveryCode),
    });
  }
  return sets;
}

// ---- raw dumps ----

async function dumpPostgres(pool: pg.Pool, schema: string): Promise<PostgresDump & { columns: PostgresColumn[] }> {
  const tables = await pool.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [schema]);
  check(
    JSON.stringify(tables.rows.map((r) => r.table_name)) === JSON.stringify(['twofold_recovery_codes', 'twofold_users']),
    `schema ${schema} holds other tables than 0.1.0's two: ${tables.rows.map((r) => r.table_name).join(', ')}`,
  );
  const columns = await pool.query<{ table: string; column: string; type: string; nullable: boolean }>(
    `SELECT table_name AS table, column_name AS column, format_type(a.atttypid, a.atttypmod) AS type, c.is_nullable = 'YES' AS nullable
     FROM information_schema.columns c
     JOIN pg_attribute a ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass AND a.attname = c.column_name
     WHERE c.table_schema = $1 ORDER BY c.table_name, c.ordinal_position`,
    [schema],
  );
  const expectedColumns = 'twofold_recovery_codes.user_key,twofold_recovery_codes.generation,twofold_recovery_codes.hashes,twofold_recovery_codes.used_at,twofold_users.user_key,twofold_users.record,twofold_users.version';
  check(columns.rows.map((c) => `${c.table}.${c.column}`).join(',') === expectedColumns, 'the tables have other columns than the dump knows');
  const users = await pool.query<PostgresUserRow>(
    `SELECT encode(user_key, 'hex') AS user_key, record, version::text AS version FROM "${schema}".twofold_users ORDER BY user_key`,
  );
  const codes = await pool.query<PostgresRecoveryCodeRow>(
    `SELECT encode(user_key, 'hex') AS user_key, generation::text AS generation,
       ARRAY(SELECT encode(h, 'hex') FROM unnest(hashes) WITH ORDINALITY AS u(h, i) ORDER BY i) AS hashes,
       ARRAY(SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM unnest(used_at) WITH ORDINALITY AS u(t, i) ORDER BY i) AS used_at
     FROM "${schema}".twofold_recovery_codes ORDER BY user_key`,
  );
  return { columns: columns.rows, twofold_users: users.rows, twofold_recovery_codes: codes.rows };
}

async function redisKeys(redis: Redis, prefix: string): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scanBuffer(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = String(next);
  } while (cursor !== '0');
  return keys.sort(Buffer.compare);
}

async function dumpRedis(redis: Redis, prefix: string): Promise<RedisKeyDump[]> {
  const dumps: RedisKeyDump[] = [];
  for (const key of await redisKeys(redis, prefix)) {
    const type = await redis.type(key);
    // 0.1.0 writes hashes only; anything else here would be a surprise worth stopping for.
    check(type === 'hash', `key ${key.toString('utf8')} is a ${type}, not a hash`);
    const flat = (await redis.callBuffer('HGETALL', key)) as Buffer[];
    const pairs: Array<[Buffer, Buffer]> = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
    dumps.push({ key: bufferToRaw(key), type, pttl: await redis.pttl(key), hash: pairs.map(([f, v]) => [bufferToRaw(f), bufferToRaw(v)]) });
  }
  return dumps;
}

// ---- per store ----

interface Common {
  commit: string;
  generatedBy: string;
}

function base(kind: FixtureKind, common: Common, outcome: ScenarioOutcome, notes: string[]) {
  return {
    kind,
    twofoldVersion: '0.1.0' as const,
    commit: common.commit,
    generatedBy: common.generatedBy,
    rootKey: ROOT_KEY,
    now: NOW,
    nowIso: new Date(NOW).toISOString(),
    serviceOptions: { issuer: ISSUER },
    users: outcome.users,
    timeline: outcome.timeline,
    notes,
  };
}

const COMMON_NOTES = [
  'Written by 0.1.0 with MfaService defaults (SHA1, 6 digits, 30 s, window ±1, 10 codes, enrollment 10 min, challenges 5 min, lockout 5 failures / 1 min base, email delay 24 h / ttl 72 h) and the issuer in serviceOptions.',
  'The clock was injected and moved forward through the timeline; it ended at `now`, where every user is in the state its story tells.',
  'Secrets, codes, set ids and tokens are random: each fixture file has its own users, unrelated to the other files.',
];

async function memoryFixture(v010: V010, common: Common): Promise<MemoryFixture> {
  const users = new v010.MemoryUserStore();
  const codes = new RecordingCodeStore(new v010.MemoryRecoveryCodeStore());
  const outcome = await runScenario(v010, users, codes);
  check(users.size === LABELS.length, 'one memory record per user');
  const expected = await expectedSets(v010, users, outcome);

  const dumpUsers: MemoryFixture['memory']['users'] = [];
  const dumpCodes: MemoryFixture['memory']['recoveryCodes'] = [];
  for (const label of LABELS) {
    const { userId } = USERS[label];
    const { record, version } = (await users.get(userId))!;
    dumpUsers.push({ label, userId, version, record, json: JSON.stringify(record) });
    const mirror = codes.sets.get(userId);
    const want = expected.get(label)!;
    check((mirror === undefined) === (want === null), `${label}: memory code set present as expected`);
    if (mirror === undefined) {
      check((await codes.inner.countUnused(userId)) === 0, `${label}: no memory code set`);
      continue;
    }
    check(mirror.generation === want!.generation, `${label}: memory generation`);
    check(JSON.stringify(mirror.hashes.map((h) => h.hash)) === JSON.stringify(want!.hashes), `${label}: memory hashes are those of the codes`);
    check(JSON.stringify(mirror.hashes.map((h) => h.used)) === JSON.stringify(want!.used), `${label}: memory used flags`);
    // The store itself agrees with the mirror: a used hash cannot be consumed, an unused one can (and is given back at once).
    for (const { hash, used } of mirror.hashes) {
      const consumed = await codes.inner.consume(userId, hash);
      check(consumed === !used, `${label}: the memory store agrees on a hash`);
      if (consumed) await codes.inner.restore(userId, hash);
    }
    check((await codes.inner.countUnused(userId)) === mirror.hashes.filter((h) => !h.used).length, `${label}: memory countUnused`);
    dumpCodes.push({ label, userId, generation: mirror.generation, hashes: mirror.hashes.map((h) => ({ ...h })) });
  }
  return {
    ...base('memory', common, outcome, [
      ...COMMON_NOTES,
      'memory.users: users.get(userId) of 0.1.0\'s MemoryUserStore; `json` is JSON.stringify(record), which is the text the store keeps (it stores JSON.stringify of what was put and returns JSON.parse of it).',
      "memory.recoveryCodes: 0.1.0's MemoryRecoveryCodeStore keeps its sets in private (#) fields, so the generator wrapped it and mirrored every replace/consume/restore/clear it received; the mirror was then checked against the store through its API (consume of each hash: false exactly for the used ones, true for the others, which were restored at once; countUnused) and against hashes recomputed from the codes.",
    ]),
    memory: { users: dumpUsers, recoveryCodes: dumpCodes },
  } as MemoryFixture;
}

async function postgresFixture(v010: V010, common: Common, url: string): Promise<PostgresFixture> {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'twofold_v010_fixture' });
  pool.on('error', () => undefined);
  try {
    await pool.query(`DROP SCHEMA IF EXISTS "${PG_SCHEMA}" CASCADE`);
    await v010.postgres.migrate(pool, { schema: PG_SCHEMA });
    const users = new v010.postgres.PostgresUserStore(pool, { schema: PG_SCHEMA });
    const codes = new v010.postgres.PostgresRecoveryCodeStore(pool, { schema: PG_SCHEMA });
    const outcome = await runScenario(v010, users, codes);
    const expected = await expectedSets(v010, users, outcome);
    const dump = await dumpPostgres(pool, PG_SCHEMA);

    const idsByKey: Record<string, string> = {};
    for (const label of LABELS) idsByKey[outcome.users[label].userKeyHex] = USERS[label].userId;
    check(dump.twofold_users.length === LABELS.length, 'one PostgreSQL row per user');
    for (const row of dump.twofold_users) {
      const userId = idsByKey[row.user_key];
      check(userId !== undefined, `unknown user_key ${row.user_key}`);
      const got = (await users.get(userId))!;
      check(row.record === JSON.stringify(got.record) && row.version === String(got.version), `${userId}: row and store agree`);
    }
    for (const label of LABELS) {
      const row = dump.twofold_recovery_codes.find((r) => r.user_key === outcome.users[label].userKeyHex);
      const want = expected.get(label)!;
      check((row === undefined) === (want === null), `${label}: PostgreSQL code set present as expected`);
      if (!row) continue;
      check(row.generation === String(want!.generation), `${label}: PostgreSQL generation`);
      check(JSON.stringify(row.hashes) === JSON.stringify(want!.hashes), `${label}: PostgreSQL hashes are those of the codes`);
      check(JSON.stringify(row.used_at.map((t) => t !== null)) === JSON.stringify(want!.used), `${label}: PostgreSQL used_at`);
    }
    return {
      ...base('postgres', common, outcome, [
        ...COMMON_NOTES,
        `Written by 0.1.0's twofold/adapters/postgres in schema ${PG_SCHEMA} (created by its migrate), then dumped.`,
        'twofold_users.user_key is SHA-256 of the UTF-8 user id (hex here); record is the exact text stored (JSON.stringify of the record); version is bigint, as text.',
        "twofold_recovery_codes: one row per user holding a set; hashes bytea[] in order (hex); used_at timestamptz[], NULL while unused. A used code's time is the DATABASE's now() at the consume (real wall-clock time of the run), not the service's injected clock, in UTC with microseconds.",
        'Users without a set (carol, never confirmed; frank, disabled: clear() deleted the row) have no twofold_recovery_codes row.',
      ]),
      postgres: { schema: PG_SCHEMA, ...dump, userIdsByKey: idsByKey },
    } as PostgresFixture;
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${PG_SCHEMA}" CASCADE`).catch(() => undefined);
    await pool.end();
  }
}

async function redisFixture(v010: V010, common: Common, url: string): Promise<RedisFixture> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  const clean = async () => {
    const keys = await redisKeys(redis, REDIS_PREFIX);
    if (keys.length > 0) await redis.del(...keys);
  };
  try {
    await clean();
    const users = new v010.redis.RedisUserStore(redis, { keyPrefix: REDIS_PREFIX });
    const codes = new v010.redis.RedisRecoveryCodeStore(redis, { keyPrefix: REDIS_PREFIX });
    const outcome = await runScenario(v010, users, codes);
    const expected = await expectedSets(v010, users, outcome);
    const keys = await dumpRedis(redis, REDIS_PREFIX);

    const idsByKey: Record<string, string> = {};
    const field = (dump: RedisKeyDump, name: string): RawBytes | undefined => dump.hash!.find(([f]) => f === name)?.[1];
    for (const label of LABELS) {
      const user = outcome.users[label];
      const userKey = `${REDIS_PREFIX}user:{${user.userKeyHex}}`;
      const codesKey = `${REDIS_PREFIX}codes:{${user.userKeyHex}}`;
      idsByKey[userKey] = user.userId;
      const userDump = keys.find((k) => k.key === userKey);
      check(userDump !== undefined, `${label}: a Redis user key`);
      const got = (await users.get(user.userId))!;
      check(field(userDump, 'r') === JSON.stringify(got.record) && field(userDump, 'v') === String(got.version), `${label}: Redis hash and store agree`);
      check(userDump.hash!.length === 3 && typeof field(userDump, 'w') === 'string', `${label}: Redis user hash is v, r, w`);
      const codesDump = keys.find((k) => k.key === codesKey);
      const want = expected.get(label)!;
      check((codesDump === undefined) === (want === null), `${label}: Redis code set present as expected`);
      if (!codesDump) continue;
      idsByKey[codesKey] = user.userId;
      check(field(codesDump, 'g') === String(want!.generation), `${label}: Redis generation`);
      const hashFields = codesDump.hash!.filter(([f]) => f !== 'g');
      check(
        JSON.stringify(hashFields.map(([f]) => f).sort()) === JSON.stringify([...want!.hashes].sort()),
        `${label}: Redis hashes are those of the codes`,
      );
      want!.hashes.forEach((hash, i) => check((field(codesDump, hash) !== '0') === want!.used[i], `${label}: Redis used marks`));
    }
    check(Object.keys(idsByKey).length === keys.length, 'every Redis key belongs to a user');
    const allText = keys.every((k) => typeof k.key === 'string' && k.hash!.every(([f, v]) => typeof f === 'string' && typeof v === 'string'));
    return {
      ...base('redis', common, outcome, [
        ...COMMON_NOTES,
        `Written by 0.1.0's twofold/adapters/redis with keyPrefix ${JSON.stringify(REDIS_PREFIX)} (a plain client, no ioredis keyPrefix), then dumped: every key under the prefix, sorted by key bytes.`,
        '<prefix>user:{<hex sha256 of the user id>} is a hash: v the version (decimal text), r the record JSON (exact text), w the random id of the last write (base64url, 16 bytes).',
        "<prefix>codes:{<hex sha256>} is a hash: g the generation, then one field per code hash (64 hex): '0' while unused, else the random id (base64url) of the consume that used it. Users without a set have no codes key.",
        `Hash fields are listed sorted by field bytes (Redis hashes have no meaningful order). ${
          keys.every((k) => k.pttl === -1) ? 'No key has a TTL (pttl -1).' : 'Some keys have a TTL (pttl).'
        } ${allText ? 'Every key, field and value is valid UTF-8, so none needed the {hex} form.' : 'Bytes that are not valid UTF-8 are given as {hex}.'}`,
      ]),
      redis: { keyPrefix: REDIS_PREFIX, keys, userIdsByKey: idsByKey },
    } as RedisFixture;
  } finally {
    await clean().catch(() => undefined);
    await redis.quit();
  }
}

// ---- main ----

function write(dir: string, kind: FixtureKind, fixture: unknown): void {
  const file = join(dir, `${kind}.json`);
  writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const { values } = parseArgs({
    options: {
      src: { type: 'string' },
      out: { type: 'string', default: resolve(here, '../test/fixtures/v0.1.0') },
      only: { type: 'string' },
    },
  });
  check(values.src, 'pass --src <path of the 0.1.0 src/ directory> (a checkout of commit 0c710b8)');
  const src = resolve(values.src);
  const commit = execFileSync('git', ['-C', src, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  check(commit.startsWith(EXPECTED_COMMIT), `${src} is at ${commit}, not 0.1.0 (${EXPECTED_COMMIT})`);
  const dirty = execFileSync('git', ['-C', src, 'status', '--porcelain', '--', '.'], { encoding: 'utf8' }).trim();
  check(dirty === '', `${src} has local changes:\n${dirty}`);

  const v010 = await load010(src);
  const common: Common = {
    commit,
    generatedBy: `node --import tsx scripts/make-v010-fixtures.ts --src <checkout of ${commit.slice(0, 7)}>/src (run from inside that checkout)`,
  };
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const only = values.only?.split(',') ?? ['memory', 'postgres', 'redis'];
  if (only.includes('memory')) write(out, 'memory', await memoryFixture(v010, common));
  if (only.includes('postgres')) {
    write(out, 'postgres', await postgresFixture(v010, common, process.env.TWOFOLD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'));
  }
  if (only.includes('redis')) write(out, 'redis', await redisFixture(v010, common, process.env.TWOFOLD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'));
}

await main();
