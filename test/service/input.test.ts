/**
 * Junk for every argument. User ids and account names are the host's
 * (misuse: MfaError('invalid_argument')); codes, proofs, challenges and
 * tokens are user input (values: malformed / challenge_invalid, never an
 * exception, never a counted failure). Nothing the service hands out
 * carries a secret.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import { decodeBase32 } from '../../src/otp/base32.ts';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { MemoryRecoveryCodeStore } from '../../src/stores/index.ts';
import { codeAt, expectMfaError, expectNoSecrets, Harness, KEY_1, ok, RecordingCodeStore, stringsIn } from './fixtures.ts';

const BIG = 'x'.repeat(10 * 1024 * 1024);

/** Every method that takes a user id, called with `userId` and otherwise reasonable arguments. */
const USER_METHODS: Array<[string, (mfa: MfaService, userId: unknown) => Promise<unknown>]> = [
  ['status', (mfa, id) => mfa.status(id as string)],
  ['beginEnrollment', (mfa, id) => mfa.beginEnrollment(id as string, { accountName: 'alice@example.com' })],
  ['confirmEnrollment', (mfa, id) => mfa.confirmEnrollment(id as string, '123456')],
  ['revealRecoveryCodes', (mfa, id) => mfa.revealRecoveryCodes(id as string)],
  ['regenerateRecoveryCodes', (mfa, id) => mfa.regenerateRecoveryCodes(id as string, { totp: '123456' })],
  ['startLogin', (mfa, id) => mfa.startLogin(id as string)],
  ['disable', (mfa, id) => mfa.disable(id as string, { totp: '123456' })],
  ['requestEmailRecovery', (mfa, id) => mfa.requestEmailRecovery(id as string)],
  ['completeEmailRecovery', (mfa, id) => mfa.completeEmailRecovery(id as string, 'A'.repeat(43))],
  ['cancelEmailRecovery', (mfa, id) => mfa.cancelEmailRecovery(id as string)],
  ['lock', (mfa, id) => mfa.lock(id as string)],
  ['unlock', (mfa, id) => mfa.unlock(id as string)],
];

const BAD_USER_IDS: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['null', null],
  ['0', 0],
  ['a number', 42],
  ['true', true],
  ['{}', {}],
  ['[]', []],
  ["['alice']", ['alice']],
  ["new String('alice')", new String('alice')],
  ["{ toString: () => 'alice' }", { toString: () => 'alice' }],
  ['a function', () => 'alice'],
  ['a symbol', Symbol('alice')],
  ['a bigint', 1n],
  ["''", ''],
  ["'x'.repeat(20000)", 'x'.repeat(20000)],
  ['10 MB', BIG],
  ['a lone high surrogate', '\uD800'],
  ['a lone low surrogate inside', 'a\uDC00b'],
];

describe('user ids: anything but a non-empty, well-formed string of at most 16384 units is MfaError(invalid_argument), with no state change', () => {
  for (const [method, call] of USER_METHODS) {
    it.each(BAD_USER_IDS)(`${method}(%s)`, async (_label, userId) => {
      const h = new Harness();
      await h.enroll('alice');
      const before = await h.users.get('alice');
      const users = h.users.size;
      const events = h.events.length;
      const error = await expectMfaError(call(h.mfa, userId), 'invalid_argument');
      expect(error.message.length).toBeLessThan(300);
      expect(await h.users.get('alice')).toEqual(before);
      expect(h.users.size).toBe(users);
      expect(h.events.length).toBe(events);
      expect(await h.codes.countUnused('alice')).toBe(10);
    });
  }

  it('accepts any well-formed string: unicode, quotes, NUL, 16384 units', async () => {
    const h = new Harness();
    for (const userId of ['ü', '👩‍💻 alice', `"'; DROP TABLE users; --`, 'a\u0000b', 'y'.repeat(16_384), ' ', '.']) {
      const u = await h.enroll(userId);
      expect((await h.mfa.status(userId)).state).toBe('enabled');
      expect(ok(await h.login(userId, { totp: h.freshCode(u.secret) })).userId).toBe(userId);
    }
  });
});

describe('issue 15 point 4: the largest legal user id logs in, steps up and is remembered; one unit more is refused', () => {
  it.each([
    ['3-byte characters (49,152 UTF-8 bytes)', '€'.repeat(16_384), '€'],
    ['4-byte characters (32,768 UTF-8 bytes)', '😀'.repeat(8_192), '😀'],
  ])('%s', async (_label, userId, char) => {
    expect(userId).toHaveLength(16_384);
    const h = new Harness();
    const u = await h.enroll(userId);

    // Log in (remembering the browser), then log in again with the device alone.
    const challenge = await h.challenge(userId);
    expect(challenge.length).toBeGreaterThan(Buffer.byteLength(userId) * (4 / 3));
    const login = await h.mfa.verifyLogin(challenge, { totp: h.freshCode(u.secret) }, { rememberDevice: {} });
    // (Ids are compared, never printed: a failure must not dump 16,384 characters.)
    expect(login.ok && login.userId === userId && login.device !== undefined, `verifyLogin: ${login.ok ? 'ok' : login.reason}`).toBe(true);
    expect(await h.mfa.verifyLogin(challenge, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    const skipped = await h.mfa.startLogin(userId, { deviceToken: (login as { device: { token: string } }).device.token });
    expect(skipped).toMatchObject({ ok: true, mfaRequired: false });

    // Step up, and use the grant.
    const started = await h.mfa.startStepUp(userId);
    expect(started).toMatchObject({ ok: true });
    const stepUp = await h.mfa.verifyStepUp((started as { challenge: string }).challenge, { totp: h.freshCode(u.secret) });
    expect(stepUp.ok && stepUp.userId === userId, `verifyStepUp: ${stepUp.ok ? 'ok' : stepUp.reason}`).toBe(true);
    expect(await h.mfa.regenerateRecoveryCodes(userId, { stepUp: (stepUp as { grant: string }).grant })).toEqual({ ok: true, method: 'step_up' });

    const tooLong = userId + char;
    for (const call of [
      () => h.mfa.startLogin(tooLong),
      () => h.mfa.startStepUp(tooLong),
      () => h.mfa.status(tooLong),
      () => h.mfa.beginEnrollment(tooLong, { accountName: 'user@example.com' }),
    ]) {
      await expectMfaError(call(), 'invalid_argument');
    }
  });
});

describe('proofs: junk is { ok: false, reason: malformed }, never throws, never counts as a failure', () => {
  const junkProofs = (valid: { totp: string; recoveryCode: string }): Array<[string, unknown]> => [
    ['undefined', undefined],
    ['null', null],
    ['{}', {}],
    ['[]', []],
    ["['123456']", [valid.totp]],
    ['a string', valid.totp],
    ['a number', 123456],
    ['{ totp: number }', { totp: Number(valid.totp) }],
    ['{ totp: 5 digits }', { totp: valid.totp.slice(0, 5) }],
    ['{ totp: 7 digits }', { totp: `${valid.totp}0` }],
    ['{ totp: fullwidth digits }', { totp: '１２３４５６' }],
    ['{ totp: Arabic-Indic digits }', { totp: '١٢٣٤٥٦' }],
    ['{ totp: with a space }', { totp: ` ${valid.totp.slice(1)}` }],
    ['{ totp: trailing newline }', { totp: `${valid.totp}\n` }],
    ['{ totp: letters }', { totp: 'abcdef' }],
    ['{ totp: null }', { totp: null }],
    ['{ totp: [code] }', { totp: [valid.totp] }],
    ['{ totp: 1 MB }', { totp: '1'.repeat(1024 * 1024) }],
    ['both totp and recoveryCode (junk)', { totp: '123456', recoveryCode: 'x' }],
    ['both totp and recoveryCode (both valid)', { totp: valid.totp, recoveryCode: valid.recoveryCode }],
    ['{ recoveryCode: not-a-code }', { recoveryCode: 'not-a-code' }],
    ['{ recoveryCode: 23 characters }', { recoveryCode: valid.recoveryCode.slice(0, -1) }],
    ['{ recoveryCode: 25 characters }', { recoveryCode: `${valid.recoveryCode}0` }],
    ['{ recoveryCode: with a U }', { recoveryCode: `U${valid.recoveryCode.slice(1)}` }],
    ['{ recoveryCode: with an ß }', { recoveryCode: `ß${valid.recoveryCode.slice(1)}` }],
    ['{ recoveryCode: number }', { recoveryCode: 123 }],
    ['{ recoveryCode: null }', { recoveryCode: null }],
    ['{ recoveryCode: [code] }', { recoveryCode: [valid.recoveryCode] }],
    ['{ recoveryCode: 10 MB }', { recoveryCode: BIG }],
    ['[{ totp }]', [{ totp: valid.totp }]],
  ];

  it('verifyLogin, disable and regenerateRecoveryCodes answer malformed to every junk proof', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    h.clock.advance(30 * 1000);
    const valid = { totp: codeAt(u.secret, h.now), recoveryCode: u.codes[0]! };
    const challenge = await h.challenge('alice');
    const before = await h.users.get('alice');
    for (const [label, proof] of junkProofs(valid)) {
      for (const [name, run] of [
        ['verifyLogin', () => h.mfa.verifyLogin(challenge, proof as never)],
        ['disable', () => h.mfa.disable('alice', proof as never)],
        ['regenerateRecoveryCodes', () => h.mfa.regenerateRecoveryCodes('alice', proof as never)],
      ] as const) {
        let result: unknown;
        try {
          result = await run();
        } catch (error) {
          result = `threw ${String(error)}`;
        }
        expect(result, `${name} ${label}`).toEqual({ ok: false, reason: 'malformed' });
      }
    }
    // Nothing was written, nothing consumed, no failure counted, no event.
    expect(await h.users.get('alice')).toEqual(before);
    expect(await h.codes.countUnused('alice')).toBe(10);
    expect(h.eventsOf('login.failed')).toEqual([]);
    // The valid proofs still work (the challenge survived).
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: valid.totp })).userId).toBe('alice');
    ok(await h.login('alice', { recoveryCode: valid.recoveryCode }));
  });

  it('confirmEnrollment answers malformed to junk codes and stays enrolling', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    const code = codeAt(begun.secret, h.now);
    for (const junk of [undefined, null, Number(code), code.slice(1), `${code}1`, '１２３４５６', {}, [code], { totp: code }, BIG]) {
      expect(await h.mfa.confirmEnrollment('alice', junk as never), String(junk).slice(0, 20)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect((await h.mfa.status('alice')).state).toBe('enrolling');
    ok(await h.mfa.confirmEnrollment('alice', code));
  });
});

describe('challenges: junk is challenge_invalid, never throws, changes nothing', () => {
  it('answers challenge_invalid to every junk challenge', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    await h.enroll('bob');
    h.clock.advance(30 * 1000);
    const valid = await h.challenge('alice');
    const parts = valid.split('.');
    const junk: Array<[string, unknown]> = [
      ['undefined', undefined],
      ['null', null],
      ["''", ''],
      ["'c1'", 'c1'],
      ["'c1.....'", 'c1.....'],
      ['a number', 123],
      ['{}', {}],
      ['[]', []],
      ['[valid]', [valid]],
      ['new String(valid)', new String(valid)],
      ['10 MB', BIG],
      ['10 MB of dots', '.'.repeat(10 * 1024 * 1024)],
      ['valid + char', `${valid}x`],
      ['valid + .', `${valid}.`],
      ['space + valid', ` ${valid}`],
      ['valid upper-cased', valid.toUpperCase()],
      ['c2 prefix', ['c2', ...parts.slice(1)].join('.')],
      ['expiresAt with a leading zero', [...parts.slice(0, 2), `0${parts[2]}`, ...parts.slice(3)].join('.')],
      ['negative epoch', [...parts.slice(0, 3), `-${parts[3]}`, ...parts.slice(4)].join('.')],
      ['user segment of bob', [parts[0], Buffer.from('bob').toString('base64url'), ...parts.slice(2)].join('.')],
      ['padded MAC', `${valid}=`],
      ['missing MAC', parts.slice(0, 5).join('.')],
    ];
    const before = await h.users.get('alice');
    const proof = { totp: codeAt(u.secret, h.now) };
    for (const [label, challenge] of junk) {
      let result: unknown;
      try {
        result = await h.mfa.verifyLogin(challenge as never, proof);
      } catch (error) {
        result = `threw ${String(error)}`;
      }
      expect(result, label).toEqual({ ok: false, reason: 'challenge_invalid' });
    }
    expect(await h.users.get('alice')).toEqual(before);
    ok(await h.mfa.verifyLogin(valid, proof));
  });
});

describe('email-recovery tokens: junk is malformed, a wrong well-formed token invalid_token', () => {
  it('never throws on a junk token', async () => {
    const h = new Harness();
    await h.enroll('alice');
    expect(await h.mfa.completeEmailRecovery('alice', 'A'.repeat(43))).toEqual({ ok: false, reason: 'not_requested' });
    const { token, notBefore } = ok(await h.mfa.requestEmailRecovery('alice'));
    h.clock.set(notBefore);
    const before = await h.users.get('alice');
    for (const junk of [undefined, null, '', 123, {}, [], [token], new String(token), 'x', `${token}x`, token.slice(1), `${token.slice(1)}+`, `${token.slice(1)}=`, ` ${token.slice(1)}`, BIG]) {
      let result: unknown;
      try {
        result = await h.mfa.completeEmailRecovery('alice', junk as never);
      } catch (error) {
        result = `threw ${String(error)}`;
      }
      expect(result, String(junk).slice(0, 50)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(await h.mfa.completeEmailRecovery('alice', 'A'.repeat(43))).toEqual({ ok: false, reason: 'invalid_token' });
    expect(await h.users.get('alice')).toEqual(before);
    ok(await h.mfa.completeEmailRecovery('alice', token));
  });
});

describe('account names and lock reasons: junk is an MfaError, with no state change', () => {
  const junkOptions: Array<[string, unknown]> = [
    ['no options', undefined],
    ['null options', null],
    ['{}', {}],
    ["''", { accountName: '' }],
    ['blank', { accountName: '   ' }],
    ['a number', { accountName: 42 }],
    ['an array', { accountName: ['alice'] }],
    ["with ':'", { accountName: 'evil:alice' }],
    ['201 characters', { accountName: 'a'.repeat(201) }],
    ['10 MB', { accountName: BIG }],
    ['a lone surrogate', { accountName: 'al\uD800ice' }],
    ['a newline', { accountName: 'alice\nEvil Corp' }],
    ['a control character', { accountName: 'alice\u0007' }],
    ['leading space', { accountName: ' alice' }],
  ];

  it.each(junkOptions)('beginEnrollment with accountName %s', async (_label, options) => {
    const h = new Harness();
    let error: unknown = null;
    try {
      await h.mfa.beginEnrollment('alice', options as never);
    } catch (e) {
      error = e;
    }
    expect(isMfaError(error), `got ${String(error)}`).toBe(true);
    expect(h.users.size).toBe(0);
    expect(h.events).toEqual([]);
  });

  it('lock with a junk reason', async () => {
    const h = new Harness();
    await h.enroll('alice');
    const before = await h.users.get('alice');
    for (const options of [{ reason: 42 }, { reason: 'r'.repeat(201) }, { reason: {} }]) {
      await expectMfaError(h.mfa.lock('alice', options as never), 'invalid_argument');
    }
    expect(await h.users.get('alice')).toEqual(before);
  });
});

describe('nothing the service hands out carries a secret', () => {
  it('results, errors, events, status, JSON.stringify and util.inspect never contain a secret, code, hash, token or challenge', async () => {
    const spy = new RecordingCodeStore();
    const h = new Harness({}, { codes: spy as unknown as MemoryRecoveryCodeStore });
    const outputs: unknown[] = [];
    const submittedCodes: string[] = [];
    const keyHex = KEY_1.slice('hex:'.length);
    const needles: string[] = [keyHex, Buffer.from(keyHex, 'hex').toString('base64').replace(/=+$/, '')];
    const addSecret = (secret: string) => {
      const key = Buffer.from(decodeBase32(secret)!);
      needles.push(secret, key.toString('hex'), key.toString('base64').replace(/=+$/, ''), key.toString('base64url'));
    };
    const addCodes = (codes: string[]) => {
      for (const code of codes) needles.push(code, code.replace(/-/g, ''));
    };
    /** Run and keep whatever comes back, value or error. */
    const run = async (promise: Promise<unknown>) => {
      try {
        outputs.push(await promise);
      } catch (error) {
        outputs.push(error);
      }
    };

    // Enrollment (its result legitimately holds the secret: not scanned).
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    addSecret(begun.secret);
    await run(h.mfa.status('alice'));
    await run(h.mfa.confirmEnrollment('alice', '000000'));
    const confirmCode = codeAt(begun.secret, h.now);
    submittedCodes.push(confirmCode);
    await run(h.mfa.confirmEnrollment('alice', confirmCode));
    const revealed = ok(await h.mfa.revealRecoveryCodes('alice'));
    addCodes(revealed.codes);
    await run(h.mfa.revealRecoveryCodes('alice'));

    // Logins: success, failure, replay, recovery code, malformed, forged.
    const challenges: string[] = [];
    const challenge = async () => {
      const c = await h.challenge('alice');
      challenges.push(c);
      return c;
    };
    const code = h.freshCode(begun.secret);
    submittedCodes.push(code);
    await run(h.mfa.verifyLogin(await challenge(), { totp: code }));
    await run(h.mfa.verifyLogin(await challenge(), { totp: code }));
    const wrong = h.wrongCode(begun.secret);
    submittedCodes.push(wrong);
    await run(h.mfa.verifyLogin(await challenge(), { totp: wrong }));
    await run(h.mfa.verifyLogin(await challenge(), { recoveryCode: revealed.codes[0]! }));
    await run(h.mfa.verifyLogin(await challenge(), { recoveryCode: revealed.codes[0]! }));
    await run(h.mfa.verifyLogin(await challenge(), { totp: `${code}x` }));
    await run(h.mfa.verifyLogin(`${await challenge()}x`, { totp: code }));
    await run(h.mfa.status('alice'));

    // Misuse errors with secrets as arguments.
    await run(h.mfa.status(`${begun.secret}\uD800`));
    await run(h.mfa.beginEnrollment('alice', { accountName: `${begun.secret}:${revealed.codes[1]}` }));
    await run(h.mfa.beginEnrollment('bob', { accountName: `${revealed.codes[1]}:x` }));

    // Regenerate and email recovery.
    const regenCode = h.freshCode(begun.secret);
    submittedCodes.push(regenCode);
    await run(h.mfa.regenerateRecoveryCodes('alice', { totp: regenCode }));
    await run(h.mfa.regenerateRecoveryCodes('alice', { recoveryCode: revealed.codes[2]! }));
    const fresh = ok(await h.mfa.revealRecoveryCodes('alice'));
    addCodes(fresh.codes);
    const { token } = ok(await h.mfa.requestEmailRecovery('alice'));
    needles.push(token);
    await run(h.mfa.completeEmailRecovery('alice', token));
    await run(h.mfa.completeEmailRecovery('alice', `${token}x`));
    await run(h.mfa.cancelEmailRecovery('alice'));
    await run(h.mfa.lock('alice', { reason: 'ticket 1' }));
    await run(h.mfa.verifyLogin(challenges[0]!, { totp: h.freshCode(begun.secret) }));
    await run(h.mfa.unlock('alice'));
    await run(h.mfa.status('alice'));

    // What the store holds is secret too.
    const record = (await h.record('alice'))!;
    needles.push(...record.factors.flatMap((f) => (f.kind === 'totp' ? [f.secret] : [])));
    if (record.emailRecovery) needles.push(record.emailRecovery.tokenHash);
    // Every recovery-code hash the store was given.
    const hashes = new Set(spy.calls.flatMap((c) => (c.method === 'replace' ? (c.args[1] as string[]) : c.method === 'consume' ? [c.args[1] as string] : [])));
    needles.push(...hashes);
    needles.push(...challenges);
    expect(hashes.size).toBeGreaterThan(20);

    // Disable at the end.
    const disableCode = h.freshCode(begun.secret);
    submittedCodes.push(disableCode);
    await run(h.mfa.disable('alice', { recoveryCode: revealed.codes[3]! }));
    await run(h.mfa.disable('alice', { totp: disableCode }));
    await run(h.mfa.status('alice'));

    const service = h.mfa;
    const haystack = [
      ...stringsIn(outputs),
      ...stringsIn(h.events),
      JSON.stringify(outputs),
      JSON.stringify(h.events),
      JSON.stringify(service),
      inspect(service),
      inspect(service, { showHidden: true, depth: Infinity, getters: true }),
      String(service),
      ...Object.keys(service),
      ...Object.getOwnPropertyNames(service).map((name) => String((service as unknown as Record<string, unknown>)[name])),
    ];
    expectNoSecrets(haystack, needles, 'outputs');
    // TOTP codes are short: look for them as whole strings only.
    const leaves = new Set([...stringsIn(outputs), ...stringsIn(h.events)]);
    for (const submitted of submittedCodes) expect(leaves.has(submitted)).toBe(false);
    expect(JSON.stringify(service)).toBe(JSON.stringify({ issuer: 'Example App' }));
  });
});
