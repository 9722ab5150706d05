/**
 * Records written by 0.1.0 keep working (DESIGN §6.6), on every store: the
 * real 0.1.0 fixtures (test/fixtures/v0.1.0) are restored into fresh stores
 * of the CURRENT code, and an MfaService with the fixtures' root key and
 * clock acts as each of their users. Registered by test/service/upgrade.test.ts
 * (memory), test/stores/upgrade-postgres.test.ts and
 * test/stores/upgrade-redis.test.ts through {@link upgradeContracts}; each
 * test restores its own copy of the fixture, so none sees another's writes.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import {
  MfaService,
  type MfaEvent,
  type MfaRecord,
  type RecoveryCodeStore,
  type StatusResult,
  type StoredMfaRecord,
  type UserStore,
} from 'twofold';
import { rekeyAll, secretKeyId } from 'twofold/maintenance';
import { codeAt, ok, SECOND } from '../service/fixtures.ts';
import type { V010Fixture, V010Record, V010User, V010UserLabel } from './v010-fixtures.ts';
import { V010_USER_LABELS } from './v010-fixtures.ts';

const STEP = 30 * SECOND;
const step = (ms: number): number => Math.floor(ms / STEP);

/** Fresh stores holding exactly what 0.1.0 left, and a way to read a record as the store keeps it. */
export interface RestoredStores {
  users: UserStore;
  recoveryCodes: RecoveryCodeStore;
  /** The record's text exactly as stored (JSON) and its version, read past the adapter; null when there is none. */
  raw(userId: string): Promise<{ json: string; version: number } | null>;
}

/** How the contracts reach one store kind. */
export interface UpgradeEngine {
  /** The fixture the engine restores (its users, key and clock). */
  fixture: V010Fixture;
  /** A new, isolated copy of the fixture (new memory stores, schema or key prefix); the engine cleans up after its file. */
  restore(): Promise<RestoredStores>;
}

/** What the current `status` adds to 0.1.0's answer at the fixture's `now`, per user. */
const ADDED_STATUS: Record<V010UserLabel, Partial<StatusResult>> = {
  alice: { methods: ['totp', 'recovery_code'], attention: ['single_factor'] },
  bob: { methods: ['totp', 'recovery_code'], attention: ['recovery_codes_unrevealed', 'single_factor'] },
  carol: { methods: [], attention: [] },
  dave: { methods: ['totp', 'recovery_code'], attention: ['single_factor'], lockCause: 'failures' },
  erin: { methods: ['totp', 'recovery_code'], attention: ['single_factor'] },
  frank: { methods: [], attention: [] },
  obrien: { methods: ['totp', 'recovery_code'], attention: ['single_factor'] },
};

/** One restored copy of the fixture and a service over it, with the fixture's key and a clock starting at its `now`. */
class Bed {
  now: number;
  readonly events: MfaEvent[] = [];
  readonly mfa: MfaService;

  constructor(
    readonly fixture: V010Fixture,
    readonly stores: RestoredStores,
  ) {
    this.now = fixture.now;
    this.mfa = this.service();
  }

  /** Another service over the same stores, key and clock (a second app server). */
  service(): MfaService {
    return new MfaService({
      issuer: this.fixture.serviceOptions.issuer,
      // 0.1.0 was configured with the bare hex string; the same key, as 0.x now asks for it.
      secretKey: `hex:${this.fixture.rootKey}`,
      users: this.stores.users,
      recoveryCodes: this.stores.recoveryCodes,
      now: () => this.now,
      onEvent: (event) => {
        this.events.push(event);
      },
    });
  }

  user(label: V010UserLabel): V010User {
    return this.fixture.users[label];
  }

  id(label: V010UserLabel): string {
    return this.user(label).userId;
  }

  /** The TOTP code of the user's fixture secret at `at` (default: the clock). */
  code(label: V010UserLabel, at = this.now): string {
    return codeAt(this.user(label).secret!, at);
  }

  /** The record as the store keeps it, parsed, with its version and text. */
  async raw(label: V010UserLabel | string): Promise<{ record: StoredMfaRecord; version: number; json: string }> {
    const userId = isLabel(label) ? this.id(label) : label;
    const raw = await this.stores.raw(userId);
    expect(raw, `a stored record for ${JSON.stringify(userId)}`).not.toBeNull();
    return { record: JSON.parse(raw!.json) as StoredMfaRecord, version: raw!.version, json: raw!.json };
  }

  /** The raw record, which must still be 0.1.0's. */
  async v1(label: V010UserLabel): Promise<{ record: V010Record; version: number; json: string }> {
    const raw = await this.raw(label);
    expect(raw.record.schema, `${label}: still the 0.1.0 record`).toBe(1);
    return raw as unknown as { record: V010Record; version: number; json: string };
  }

  /** The raw record, which must be written in the current layout. */
  async v2(label: V010UserLabel): Promise<{ record: MfaRecord; version: number; json: string }> {
    const raw = await this.raw(label);
    expect(raw.record.schema, `${label}: written back as schema 2`).toBe(2);
    // Nothing of 0.1.0's layout is left at the top level.
    for (const field of ['state', 'secret', 'pendingSecret', 'pendingExpiresAt', 'lastStep', 'algorithm', 'digits', 'period']) {
      expect(raw.record, `${label}: no 0.1.0 field ${field}`).not.toHaveProperty(field);
    }
    return raw as { record: MfaRecord; version: number; json: string };
  }

  async challenge(label: V010UserLabel, mfa = this.mfa): Promise<string> {
    const started = await mfa.startLogin(this.id(label));
    expect(started, `startLogin(${label}): ${JSON.stringify(started)}`).toMatchObject({ ok: true, mfaRequired: true });
    return (started as { challenge: string }).challenge;
  }

  async login(label: V010UserLabel, proof: Parameters<MfaService['verifyLogin']>[1], mfa = this.mfa) {
    return mfa.verifyLogin(await this.challenge(label, mfa), proof);
  }

  /** A v1 record made from alice's, stored under `userId` with the store's own `put` (as 0.1.0 would have). */
  async putV1(userId: string, change: Partial<V010Record>): Promise<void> {
    const { record } = await this.v1('alice');
    expect(await this.stores.users.put(userId, { ...record, ...change } as unknown as StoredMfaRecord, null)).toBe(true);
  }
}

function isLabel(value: string): value is V010UserLabel {
  return (V010_USER_LABELS as readonly string[]).includes(value);
}

/**
 * Registers the 0.1.0-record contracts as `it` blocks in the caller's
 * `describe`. Every test restores its own copy of the fixture.
 */
export function upgradeContracts(engine: UpgradeEngine): void {
  const fixture = engine.fixture;
  const open = async () => new Bed(fixture, await engine.restore());

  it("status of every user is 0.1.0's answer at `now`, plus `methods` and `attention`; reading writes nothing", async () => {
    const bed = await open();
    for (const label of V010_USER_LABELS) {
      const before = await bed.raw(label);
      expect(await bed.mfa.status(bed.id(label)), label).toEqual({ ...bed.user(label).statusAtNow, ...ADDED_STATUS[label] });
      // Reading never upgrades the stored record.
      await bed.mfa.listFactors(bed.id(label));
      await bed.mfa.startLogin(bed.id(label));
      const after = await bed.raw(label);
      expect(after.record.schema, label).toBe(1);
      expect(after, label).toEqual(before);
    }
  });

  it('alice: one totp factor, its id stable across reads and services before any write; a fresh TOTP code logs her in and writes schema 2 with the same sealed secret', async () => {
    const bed = await open();
    const alice = bed.id('alice');
    const old = await bed.v1('alice');
    const factors = await bed.mfa.listFactors(alice);
    expect(factors).toEqual([
      {
        id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        kind: 'totp',
        label: 'Authenticator app',
        createdAt: old.record.enabledAt,
        // 0.1.0 kept no time of use: the step of her last login is the best it tells.
        lastUsedAt: old.record.lastStep! * STEP,
      },
    ]);
    const factorId = factors[0]!.id;
    expect(await bed.mfa.listFactors(alice)).toEqual(factors);
    expect(await bed.service().listFactors(alice)).toEqual(factors);
    expect(await bed.raw('alice')).toEqual(old);

    const result = await bed.login('alice', { totp: bed.code('alice') });
    expect(result).toEqual({ ok: true, userId: alice, method: 'totp', factorId, recoveryCodesRemaining: 9 });
    expect(bed.events.filter((e) => e.type === 'login.succeeded')).toEqual([expect.objectContaining({ userId: alice, method: 'totp', factorId })]);

    // Written back in the current layout: the same factor, the same sealed secret, the new step.
    const written = await bed.v2('alice');
    expect(written.version).toBe(old.version + 1);
    expect(written.record.factors).toEqual([
      {
        id: factorId,
        kind: 'totp',
        label: 'Authenticator app',
        createdAt: old.record.enabledAt,
        lastUsedAt: bed.now,
        secret: old.record.secret,
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
        lastStep: step(bed.now),
      },
    ]);
    expect(written.record).toMatchObject({
      pendingTotp: null,
      pendingWebAuthn: null,
      accountName: old.record.accountName,
      enabledAt: old.record.enabledAt,
      lastMfaAt: bed.now,
      recoveryCodeSet: old.record.recoveryCodeSet,
      recoveryCodeGeneration: old.record.recoveryCodeGeneration,
      unrevealedCodes: null,
      failures: 0,
      lockedUntil: null,
      lockedIndefinitely: false,
      lockCause: null,
      challengeEpoch: old.record.challengeEpoch,
      emailRecovery: null,
    });
    expect(written.json).toContain(old.record.secret!);
    expect(written.json).not.toContain(bed.user('alice').secret!);

    // Still works, under the same id: the code just used is a replay, the next step logs in.
    expect(await bed.mfa.listFactors(alice)).toEqual([{ ...factors[0], lastUsedAt: bed.now }]);
    expect(await bed.login('alice', { totp: bed.code('alice') })).toMatchObject({ ok: false, reason: 'replayed' });
    bed.now += STEP;
    expect(await bed.login('alice', { totp: bed.code('alice') })).toEqual({ ok: true, userId: alice, method: 'totp', factorId, recoveryCodesRemaining: 9 });
    expect(await bed.mfa.status(alice)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 9, methods: ['totp', 'recovery_code'] });
  });

  it("alice: the replay rule holds across the upgrade: a code at or before her stored lastStep is replayed", async () => {
    const bed = await open();
    const old = await bed.v1('alice');
    const lastStep = old.record.lastStep!;
    const lastLogin = bed.user('alice').totpSubmitted.filter((t) => t.accepted).at(-1)!;
    expect(step(lastLogin.at)).toBe(lastStep);

    // Back at the instant of her last 0.1.0 login: its code again is a double submit (not counted, nothing written).
    bed.now = lastLogin.at;
    expect(bed.code('alice')).toBe(lastLogin.code);
    expect(await bed.login('alice', { totp: lastLogin.code })).toEqual({ ok: false, reason: 'replayed', attemptsLeft: 5 });
    expect(await bed.raw('alice')).toEqual(old);
    // The step before it is a replay too, and counted.
    expect(await bed.login('alice', { totp: bed.code('alice', lastLogin.at - STEP) })).toEqual({ ok: false, reason: 'replayed', attemptsLeft: 4 });
    expect((await bed.v2('alice')).record).toMatchObject({ failures: 1, factors: [{ kind: 'totp', lastStep, secret: old.record.secret }] });
    // The next step is fresh.
    bed.now = lastLogin.at + STEP;
    expect(await bed.login('alice', { totp: bed.code('alice') })).toMatchObject({ ok: true, method: 'totp' });
    expect((await bed.v2('alice')).record).toMatchObject({ failures: 0, factors: [{ lastStep: lastStep + 1 }] });
  });

  it('alice: an unused recovery code logs her in once; the one 0.1.0 saw used is refused', async () => {
    const bed = await open();
    const { recoveryCodes, usedRecoveryCode } = bed.user('alice');
    const unused = recoveryCodes!.find((c) => c !== usedRecoveryCode)!;
    expect(await bed.login('alice', { recoveryCode: usedRecoveryCode! })).toEqual({ ok: false, reason: 'invalid_code', attemptsLeft: 4 });
    expect(await bed.stores.recoveryCodes.countUnused(bed.id('alice'))).toBe(9);
    expect(await bed.login('alice', { recoveryCode: unused })).toEqual({ ok: true, userId: 'alice', method: 'recovery_code', recoveryCodesRemaining: 8 });
    expect(await bed.login('alice', { recoveryCode: unused.toLowerCase() })).toMatchObject({ ok: false, reason: 'invalid_code' });
    expect(await bed.stores.recoveryCodes.countUnused(bed.id('alice'))).toBe(8);
    // The success cleared the first failure; the refused reuse is counted afresh.
    expect((await bed.v2('alice')).record).toMatchObject({ failures: 1, failuresSinceSuccess: 1 });
  });

  it('bob: the codes 0.1.0 never revealed are revealed once, exactly as sealed, and work', async () => {
    const bed = await open();
    const bob = bed.id('bob');
    const revealed = ok(await bed.mfa.revealRecoveryCodes(bob));
    expect(revealed.codes).toEqual(bed.user('bob').unrevealedCodes);
    expect(await bed.mfa.revealRecoveryCodes(bob)).toEqual({ ok: false, reason: 'already_revealed' });
    expect((await bed.v2('bob')).record).toMatchObject({ unrevealedCodes: null, factors: [{ kind: 'totp' }] });
    expect(await bed.mfa.status(bob)).toMatchObject({ state: 'enabled', recoveryCodesUnrevealed: false, attention: ['single_factor'] });
    expect(await bed.login('bob', { recoveryCode: revealed.codes[9]! })).toMatchObject({ ok: true, method: 'recovery_code', recoveryCodesRemaining: 9 });
    expect(await bed.login('bob', { totp: bed.code('bob') })).toMatchObject({ ok: true, method: 'totp' });
  });

  it('carol: the enrollment 0.1.0 left pending is confirmed with a code of her secret', async () => {
    const bed = await open();
    const carol = bed.id('carol');
    const old = await bed.v1('carol');
    expect(await bed.mfa.listFactors(carol)).toEqual([]);
    expect(await bed.mfa.startLogin(carol)).toEqual({ ok: true, mfaRequired: false });
    const confirmed = ok(await bed.mfa.confirmEnrollment(carol, bed.code('carol')));
    expect(await bed.mfa.listFactors(carol)).toEqual([
      { id: confirmed.factorId, kind: 'totp', label: 'Authenticator app', createdAt: bed.now, lastUsedAt: null },
    ]);
    const written = await bed.v2('carol');
    expect(written.record).toMatchObject({
      factors: [{ id: confirmed.factorId, kind: 'totp', secret: old.record.pendingSecret, lastStep: step(bed.now) }],
      pendingTotp: null,
      enabledAt: bed.now,
    });
    expect(await bed.mfa.status(carol)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10, recoveryCodesUnrevealed: true });
    const { codes } = ok(await bed.mfa.revealRecoveryCodes(carol));
    bed.now += STEP;
    expect(await bed.login('carol', { totp: bed.code('carol') })).toMatchObject({ ok: true, factorId: confirmed.factorId });
    expect(await bed.login('carol', { recoveryCode: codes[0]! })).toMatchObject({ ok: true, recoveryCodesRemaining: 9 });
  });

  it("carol: the pending enrollment still expires when 0.1.0 said it would", async () => {
    const bed = await open();
    const expiresAt = (await bed.v1('carol')).record.pendingExpiresAt!;
    expect(expiresAt).toBe(bed.user('carol').statusAtNow.enrollmentExpiresAt);
    bed.now = expiresAt;
    expect(await bed.mfa.status(bed.id('carol'))).toMatchObject({ state: 'registered' });
    expect(await bed.mfa.confirmEnrollment(bed.id('carol'), bed.code('carol'))).toMatchObject({ ok: false, reason: 'expired' });
  });

  it("dave: locked by failures until 0.1.0's lockedUntil, then logs in", async () => {
    const bed = await open();
    const dave = bed.id('dave');
    const { lockedUntil } = (await bed.v1('dave')).record;
    expect(lockedUntil).toBe(bed.user('dave').statusAtNow.lockedUntil);
    expect(await bed.mfa.status(dave)).toMatchObject({ state: 'locked', lockedUntil, lockCause: 'failures' });
    expect(await bed.mfa.startLogin(dave)).toEqual({ ok: false, mfaRequired: true, reason: 'locked', retryAt: lockedUntil });
    expect(await bed.mfa.unlock(dave, { causes: ['manual'] })).toEqual({ ok: false, reason: 'cause_mismatch', cause: 'failures' });

    bed.now = lockedUntil! - 1;
    expect(await bed.mfa.status(dave)).toMatchObject({ state: 'locked' });
    bed.now = lockedUntil!;
    expect(await bed.mfa.status(dave)).toMatchObject({ state: 'enabled', methods: ['totp', 'recovery_code'] });
    expect(await bed.login('dave', { totp: bed.code('dave') })).toMatchObject({ ok: true, userId: dave, method: 'totp' });
    expect((await bed.v2('dave')).record).toMatchObject({ failures: 0, failuresSinceSuccess: 0, lockCount: 0, lockedUntil: null });
  });

  it("erin: the email recovery 0.1.0 left pending completes with the fixture's token after the waiting period", async () => {
    const bed = await open();
    const erin = bed.id('erin');
    const token = bed.user('erin').emailToken!;
    const { emailRecovery } = (await bed.v1('erin')).record;
    expect(await bed.mfa.completeEmailRecovery(erin, token)).toEqual({ ok: false, reason: 'too_early' });
    bed.now = emailRecovery!.notBefore - 1;
    expect(await bed.mfa.completeEmailRecovery(erin, token)).toEqual({ ok: false, reason: 'too_early' });
    bed.now = emailRecovery!.notBefore;
    expect(await bed.mfa.completeEmailRecovery(erin, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toMatchObject({
      ok: false,
      reason: 'invalid_token',
    });
    expect(await bed.mfa.completeEmailRecovery(erin, token)).toMatchObject({ ok: true });
    expect(await bed.mfa.status(erin)).toEqual({ state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] });
    expect(await bed.stores.recoveryCodes.countUnused(erin)).toBe(0);
    expect((await bed.v2('erin')).record).toMatchObject({ factors: [], recoveryCodeSet: null });
    expect(await bed.mfa.startLogin(erin)).toEqual({ ok: true, mfaRequired: false });
    expect(await bed.mfa.completeEmailRecovery(erin, token)).toMatchObject({ ok: false });
  });

  it('erin (a copy): a login during the waiting period cancels the recovery 0.1.0 left pending', async () => {
    const bed = await open();
    const erin = bed.id('erin');
    const token = bed.user('erin').emailToken!;
    const { emailRecovery } = (await bed.v1('erin')).record;
    expect(await bed.login('erin', { totp: bed.code('erin') })).toMatchObject({ ok: true, method: 'totp' });
    expect(bed.events.map((e) => e.type)).toContain('email_recovery.cancelled');
    expect(await bed.mfa.status(erin)).not.toHaveProperty('pendingEmailRecovery');
    expect((await bed.v2('erin')).record.emailRecovery).toEqual({ ...emailRecovery, status: 'cancelled' });
    bed.now = emailRecovery!.notBefore;
    expect(await bed.mfa.completeEmailRecovery(erin, token)).toEqual({ ok: false, reason: 'cancelled' });
    expect(await bed.mfa.status(erin)).toMatchObject({ state: 'enabled' });
  });

  it('frank: the disabled 0.1.0 user is registered and can enroll again', async () => {
    const bed = await open();
    const frank = bed.id('frank');
    const old = await bed.v1('frank');
    expect(await bed.mfa.listFactors(frank)).toEqual([]);
    expect(await bed.mfa.startLogin(frank)).toEqual({ ok: true, mfaRequired: false });
    // The old secret opens nothing.
    expect(await bed.mfa.disable(frank, { totp: bed.code('frank') })).toEqual({ ok: false, reason: 'not_enrolled' });
    const begun = ok(await bed.mfa.beginEnrollment(frank, { accountName: 'frank@example.com' }));
    expect(begun.secret).not.toBe(bed.user('frank').secret);
    ok(await bed.mfa.confirmEnrollment(frank, codeAt(begun.secret, bed.now)));
    // The generation keeps counting from 0.1.0's, so the new set's replace applies.
    expect((await bed.v2('frank')).record).toMatchObject({
      factors: [{ kind: 'totp' }],
      recoveryCodeGeneration: old.record.recoveryCodeGeneration + 1,
      challengeEpoch: old.record.challengeEpoch + 1,
    });
    const { codes } = ok(await bed.mfa.revealRecoveryCodes(frank));
    expect(await bed.login('frank', { recoveryCode: codes[0]! })).toMatchObject({ ok: true, recoveryCodesRemaining: 9 });
  });

  it("o'brien (quote, NUL, emoji in the id): logs in with TOTP and a recovery code", async () => {
    const bed = await open();
    const id = bed.id('obrien');
    expect(id).toBe("o'brien \u0000 🔐");
    const [factor] = await bed.mfa.listFactors(id);
    expect(await bed.login('obrien', { totp: bed.code('obrien') })).toEqual({
      ok: true,
      userId: id,
      method: 'totp',
      factorId: factor!.id,
      recoveryCodesRemaining: 10,
    });
    expect(await bed.login('obrien', { recoveryCode: bed.user('obrien').recoveryCodes![4]! })).toEqual({
      ok: true,
      userId: id,
      method: 'recovery_code',
      recoveryCodesRemaining: 9,
    });
    expect((await bed.v2('obrien')).record.factors).toEqual([expect.objectContaining({ id: factor!.id, kind: 'totp' })]);
    // Another user's code never opens it.
    bed.now += STEP;
    expect(await bed.login('obrien', { recoveryCode: bed.user('bob').unrevealedCodes![0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('disable works on a 0.1.0 record (first write) and on one already upgraded', async () => {
    const bed = await open();
    // o'brien: the disable is the first change of the record.
    const obrien = bed.id('obrien');
    await bed.v1('obrien');
    expect(await bed.mfa.disable(obrien, { totp: bed.code('obrien') })).toEqual({ ok: true, method: 'totp' });
    expect(await bed.mfa.status(obrien)).toMatchObject({ state: 'registered', recoveryCodesRemaining: 0, methods: [] });
    expect((await bed.v2('obrien')).record).toMatchObject({ factors: [], recoveryCodeSet: null, pendingTotp: null });
    expect(await bed.stores.recoveryCodes.countUnused(obrien)).toBe(0);

    // alice: upgraded by a login first, then disabled with a recovery code.
    ok(await bed.login('alice', { totp: bed.code('alice') }));
    await bed.v2('alice');
    const unused = bed.user('alice').recoveryCodes!.find((c) => c !== bed.user('alice').usedRecoveryCode)!;
    expect(await bed.mfa.disable('alice', { recoveryCode: unused })).toEqual({ ok: true, method: 'recovery_code' });
    expect(await bed.mfa.status('alice')).toMatchObject({ state: 'registered', recoveryCodesRemaining: 0 });
    expect((await bed.v2('alice')).record).toMatchObject({ factors: [], recoveryCodeSet: null });
    expect(await bed.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
    expect(bed.events.filter((e) => e.type === 'mfa.disabled')).toHaveLength(2);
  });

  it('bob: a step-up on the 0.1.0 record gives a grant that removes the factor listed before the upgrade', async () => {
    const bed = await open();
    const bob = bed.id('bob');
    const [factor] = await bed.mfa.listFactors(bob);
    const started = await bed.mfa.startStepUp(bob);
    if (!started.ok) throw new Error(JSON.stringify(started));
    const stepped = ok(await bed.mfa.verifyStepUp(started.challenge, { totp: bed.code('bob') }));
    expect(stepped).toMatchObject({ userId: bob, method: 'totp', factorId: factor!.id });
    await bed.v2('bob');
    expect(await bed.mfa.removeFactor(bob, factor!.id, { stepUp: stepped.grant })).toMatchObject({ ok: true, state: 'registered' });
    expect(await bed.mfa.status(bob)).toMatchObject({ state: 'registered', recoveryCodesRemaining: 0 });
    expect((await bed.v2('bob')).record).toMatchObject({ factors: [], unrevealedCodes: null, recoveryCodeSet: null });
  });

  it('20 parallel logins with one fresh code on a 0.1.0 record, two services: exactly one success, the record upgraded once', async () => {
    const bed = await open();
    const servers = [bed.mfa, bed.service()];
    const old = await bed.v1('alice');
    const challenges = await Promise.all(Array.from({ length: 20 }, (_, i) => bed.challenge('alice', servers[i % 2])));
    const code = bed.code('alice');
    const results = await Promise.all(challenges.map((challenge, i) => servers[i % 2]!.verifyLogin(challenge, { totp: code })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    for (const r of results) if (!r.ok) expect(['replayed', 'locked']).toContain(r.reason);
    const written = await bed.v2('alice');
    expect(written.record.factors).toEqual([expect.objectContaining({ kind: 'totp', secret: old.record.secret, lastStep: step(bed.now) })]);
    expect(bed.events.filter((e) => e.type === 'login.succeeded')).toHaveLength(1);
  });

  it("indefinite 0.1.0 locks: lockReason 'failure_limit' is cause failure_limit, any other reason manual; unlock by cause ends only the first", async () => {
    const bed = await open();
    const limit = 'alice-failure-limit';
    const manual = 'alice-manual-lock';
    const unnamed = 'alice-lock-without-reason';
    await bed.putV1(limit, { lockedIndefinitely: true, lockReason: 'failure_limit', failuresSinceSuccess: 100 });
    await bed.putV1(manual, { lockedIndefinitely: true, lockReason: 'support: suspected takeover' });
    await bed.putV1(unnamed, { lockedIndefinitely: true, lockReason: null });
    expect(await bed.mfa.status(limit)).toMatchObject({ state: 'locked', lockedUntil: null, lockCause: 'failure_limit' });
    expect(await bed.mfa.status(manual)).toMatchObject({ state: 'locked', lockedUntil: null, lockCause: 'manual' });
    expect(await bed.mfa.status(unnamed)).toMatchObject({ state: 'locked', lockedUntil: null, lockCause: 'manual' });

    for (const userId of [limit, manual, unnamed]) {
      expect(await bed.mfa.unlock(userId, { causes: ['failure_limit'] }), userId).toEqual(
        userId === limit ? { ok: true } : { ok: false, reason: 'cause_mismatch', cause: 'manual' },
      );
    }
    expect(await bed.mfa.status(limit)).toMatchObject({ state: 'enabled' });
    expect(await bed.mfa.status(manual)).toMatchObject({ state: 'locked', lockCause: 'manual' });
    expect(await bed.mfa.status(unnamed)).toMatchObject({ state: 'locked', lockCause: 'manual' });
    // Only the unlock wrote; the others are still 0.1.0's records.
    expect((await bed.raw(limit)).record).toMatchObject({ schema: 2, lockedIndefinitely: false, lockCause: null, failuresSinceSuccess: 0 });
    expect((await bed.raw(manual)).record).toMatchObject({ schema: 1, lockedIndefinitely: true });
    expect(await bed.mfa.unlock(manual, { causes: ['manual'] })).toEqual({ ok: true });
    expect(await bed.mfa.status(manual)).toMatchObject({ state: 'enabled' });
  });

  it('a key rotation over the 0.1.0 records: rekeyAll over the host\'s own ids reaches and names every one; those who must regenerate are told and do; then every user logs in without the old key', async () => {
    const bed = await open();
    const oldKey = Buffer.from(fixture.rootKey, 'hex');
    const newKey = randomBytes(32);
    const make = (secretKey: Uint8Array, previousSecretKeys: Uint8Array[] = []) =>
      new MfaService({ issuer: fixture.serviceOptions.issuer, secretKey, previousSecretKeys, users: bed.stores.users, recoveryCodes: bed.stores.recoveryCodes, now: () => bed.now });
    const rotated = make(newKey, [oldKey]);
    const after = make(newKey);
    const ids = V010_USER_LABELS.map((label) => bed.id(label));
    const scan = async () => {
      const found = { userIds: [] as string[], unnamed: 0 };
      let cursor: string | null = null;
      do {
        const page = await bed.stores.users.scan!(cursor, 3);
        found.userIds.push(...page.userIds);
        found.unnamed += page.unnamed ?? 0;
        cursor = page.cursor;
      } while (cursor !== null);
      return found;
    };
    // The adapters of 0.1.0 kept no user id: a scan can only count their records (the memory store knows its keys).
    const before = await scan();
    expect(before.userIds.length + before.unnamed).toBe(ids.length);
    expect(await rekeyAll({ service: rotated, users: bed.stores.users })).toMatchObject({ users: before.userIds.length, unnamed: before.unnamed });

    // The host walks its own ids once: every record is moved as far as it can be, and written, so the store names it.
    const told: string[] = [];
    const first = await rekeyAll({ service: rotated, userIds: ids, limit: 3, onProgress: ({ needsUser }) => void told.push(...needsUser.map((u) => u.userId)) });
    expect(first).toMatchObject({ users: 7, needsUser: { recovery_codes: 4, totp: 0 }, unnamed: 0 });
    expect(first.dependsOn).toEqual({ [secretKeyId(oldKey)]: 4 });
    // Everything sealed was moved by one walk or the other: 6 TOTP secrets, bob's unrevealed codes, carol's pending secret.
    expect((await rekeyAll({ service: rotated, userIds: ids })).resealed).toBe(0);
    // Those with codes revealed under the old key: alice, dave, erin, o'brien.
    expect(told.sort()).toEqual(['alice', 'dave', 'erin', "o'brien \u0000 🔐"]);
    const named = await scan();
    expect(named.unnamed).toBe(0);
    expect(new Set(named.userIds)).toEqual(new Set(ids));

    // carol's enrollment, begun under the old key, is confirmed without it.
    ok(await after.confirmEnrollment(bed.id('carol'), bed.code('carol')));
    // Each one told regenerates (dave once his lock is over) and saves the new codes.
    bed.now += 2 * STEP;
    const fresh = new Map<string, string[]>();
    for (const userId of told) {
      const label = V010_USER_LABELS.find((l) => bed.id(l) === userId)!;
      expect((await rotated.status(userId)).attention, label).toContain('recovery_codes_rekey');
      ok(await rotated.regenerateRecoveryCodes(userId, { totp: bed.code(label) }));
      fresh.set(userId, ok(await rotated.revealRecoveryCodes(userId)).codes);
      expect((await rotated.status(userId)).attention, label).not.toContain('recovery_codes_rekey');
    }
    expect(await rekeyAll({ service: rotated, users: bed.stores.users })).toEqual({
      users: 7,
      resealed: 0,
      needsUser: { recovery_codes: 0, totp: 0 },
      dependsOn: {},
      unnamed: 0,
    });

    // The old key is gone: every enabled user logs in with the app and with a recovery code.
    bed.now += STEP;
    fresh.set(bed.id('bob'), ok(await after.revealRecoveryCodes(bed.id('bob'))).codes);
    fresh.set(bed.id('carol'), ok(await after.revealRecoveryCodes(bed.id('carol'))).codes);
    for (const label of ['alice', 'bob', 'carol', 'dave', 'erin', 'obrien'] as const) {
      expect(await bed.login(label, { totp: bed.code(label) }, after), label).toMatchObject({ ok: true, method: 'totp' });
      expect(await bed.login(label, { recoveryCode: fresh.get(bed.id(label))![0]! }, after), label).toMatchObject({ ok: true, method: 'recovery_code' });
    }
    expect((await after.status(bed.id('frank'))).state).toBe('registered');
  });
}
