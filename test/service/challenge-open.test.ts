/**
 * Performance issue 13: `openChallenge` parses in one pass, checks the
 * signature's canonical spelling without decoding and re-encoding, and MACs
 * from a cached key state. None of that may change what it accepts: every
 * string is run through the new implementation and through the one it
 * replaced (copied below as the oracle), which must agree exactly.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { prng } from '../support/prng.ts';
import { createKeyRing, type HmacKey } from '../../src/seal.ts';
import { openChallenge, signChallenge, type ChallengeClaims, type ChallengePurpose } from '../../src/service/challenge.ts';
import { MAX_USER_ID_BYTES } from '../../src/service/context.ts';

// ---- The oracle: openChallenge as it was before issue 13, verbatim. ----

const MAX_CHALLENGE_LENGTH = Math.ceil((MAX_USER_ID_BYTES * 4) / 3) + 128;
const PREFIX: Record<ChallengePurpose, string> = { login: 'c1', step_up: 's1' };

function oracleMac(key: HmacKey, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

const INTEGER = /^(0|[1-9][0-9]{0,15})$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

function oracleOpenChallenge(keys: readonly HmacKey[], challenge: unknown, purpose: ChallengePurpose = 'login'): ChallengeClaims | null {
  if (typeof challenge !== 'string' || challenge.length > MAX_CHALLENGE_LENGTH) return null;
  const parts = challenge.split('.');
  if (parts.length !== 6) return null;
  const [prefix, user, expiresAt, epoch, id, signature] = parts as [string, string, string, string, string, string];
  if (prefix !== PREFIX[purpose] || !INTEGER.test(expiresAt) || !INTEGER.test(epoch)) return null;
  if (!B64URL.test(user) || !B64URL.test(id) || !B64URL.test(signature) || id.length !== 22 || signature.length !== 43) return null;
  const given = Buffer.from(signature, 'base64url');
  if (given.toString('base64url') !== signature) return null;
  const payload = challenge.slice(0, challenge.length - signature.length - 1);
  let valid = false;
  for (const key of keys) {
    if (timingSafeEqual(oracleMac(key, payload), given)) valid = true;
  }
  if (!valid) return null;
  const userBytes = Buffer.from(user, 'base64url');
  const userId = userBytes.toString('utf8');
  return { userId, expiresAt: Number(expiresAt), epoch: Number(epoch), id };
}

// ---- Inputs. ----

const B64URL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Characters to splice in: base64url, digits, the separator, base64's other alphabet and padding, space, controls, non-ASCII, lone and paired surrogates. */
const MUTANTS = [...B64URL_CHARS, '.', '+', '/', '=', ' ', '\n', '\0', '%', 'é', 'ß', 'ａ', '٣', '\u00a0', '\u2024', '\uD800', '\uDFFF', '😀', '\u0100', '\u0141', '\u012e'];

const ring = createKeyRing({ secretKey: randomBytes(32), previousSecretKeys: [randomBytes(32)] });
const other = createKeyRing({ secretKey: randomBytes(32) });
const [current, previous] = ring.hmacKeys('challenge') as [HmacKey, HmacKey];
const rawCurrent = ring.macKeys('challenge')[0]!;

/** Key lists the service and callers pass: the ring's `KeyObject`s (cached MAC state), raw bytes (createHmac), mixes, none. */
const KEY_LISTS: readonly (readonly HmacKey[])[] = [
  ring.hmacKeys('challenge'),
  [current],
  [previous, current],
  [rawCurrent],
  other.hmacKeys('challenge'),
  [...other.hmacKeys('challenge'), current],
  [],
];
const PURPOSES: readonly (ChallengePurpose | undefined)[] = ['login', 'step_up', undefined];

function randomUserId(rand: () => number): string {
  const pools = ['user-', 'abcdefghijklmnopqrstuvwxyz0123456789', 'zoë例え🚀 \u0000\uFFFD', '\uD83D\uDE00ß'];
  const length = Math.floor(rand() * 24);
  let id = rand() < 0.5 ? 'user-' : '';
  for (let i = 0; i < length; i++) {
    const pool = pools[Math.floor(rand() * pools.length)]!;
    const chars = [...pool];
    id += chars[Math.floor(rand() * chars.length)]!;
  }
  return id;
}

function randomInteger(rand: () => number): number {
  const r = rand();
  if (r < 0.1) return 0;
  if (r < 0.6) return 1_700_000_000_000 + Math.floor(rand() * 1e11);
  if (r < 0.8) return Math.floor(rand() * 1000);
  return Math.floor(rand() * Number.MAX_SAFE_INTEGER);
}

/** Signs an arbitrary payload as `signChallenge` would (so odd but signed fields reach the part after the MAC). */
function signPayload(key: HmacKey, payload: string): string {
  return `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

/** Every way to change one position of `text`: replace it, delete it, insert before it. */
function* singleEdits(text: string, rand: () => number, replacementsPerPosition: number): Generator<string> {
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length) {
      yield text.slice(0, i) + text.slice(i + 1);
      for (let r = 0; r < replacementsPerPosition; r++) {
        const mutant = MUTANTS[Math.floor(rand() * MUTANTS.length)]!;
        if (mutant !== text[i]) yield text.slice(0, i) + mutant + text.slice(i + 1);
      }
    }
    yield text.slice(0, i) + MUTANTS[Math.floor(rand() * MUTANTS.length)]! + text.slice(i);
  }
}

/** Structural variants: every last signature character, truncations, extensions, extra or missing dots, fields swapped. */
function* structuralVariants(challenge: string): Generator<string> {
  const body = challenge.slice(0, -1);
  for (const char of MUTANTS) yield body + char;
  for (let cut = 1; cut <= Math.min(challenge.length, 50); cut++) yield challenge.slice(0, -cut);
  for (const extra of ['A', 'AA', '.', '.A', '=', '==', ' ', '\n', '😀']) {
    yield challenge + extra;
    yield extra + challenge;
  }
  const parts = challenge.split('.');
  for (let i = 0; i < parts.length; i++) {
    yield [...parts.slice(0, i), ...parts.slice(i + 1)].join('.');
    yield [...parts.slice(0, i + 1), parts[i]!, ...parts.slice(i + 1)].join('.');
    yield [...parts.slice(0, i), '', ...parts.slice(i + 1)].join('.');
    yield parts.map((p, j) => (j === i ? `${p}.` : p)).join('.');
    yield parts.map((p, j) => (j === i ? `.${p}` : p)).join('.');
  }
  yield parts.join('..');
  yield parts.join('.').replace(/^c1|^s1/, (p) => (p === 'c1' ? 's1' : 'c1'));
  yield challenge.toUpperCase();
  yield challenge.replaceAll('-', '+').replaceAll('_', '/');
  yield `${challenge.slice(0, -43)}${Buffer.from(challenge.slice(-43), 'base64url').toString('base64')}`;
  yield `${challenge.slice(0, -43)}${challenge.slice(-43)}=`;
  yield `${challenge.slice(0, -43)}${challenge.slice(-43)}A`.slice(1);
}

function expectSame(keys: readonly HmacKey[], input: unknown, purpose: ChallengePurpose | undefined, label: string): ChallengeClaims | null {
  const expected = purpose === undefined ? oracleOpenChallenge(keys, input) : oracleOpenChallenge(keys, input, purpose);
  const actual = purpose === undefined ? openChallenge(keys, input) : openChallenge(keys, input, purpose);
  if (actual === null || expected === null) {
    if (actual !== expected) expect(actual, `${label}: ${JSON.stringify(input)} (${String(purpose)})`).toStrictEqual(expected);
  } else {
    expect(actual, `${label}: ${JSON.stringify(input)} (${String(purpose)})`).toStrictEqual(expected);
  }
  return actual;
}

describe('openChallenge agrees with the implementation it replaced (issue 13)', () => {
  it('on thousands of issued challenges, under every key list and purpose', () => {
    const rand = prng(13);
    let accepted = 0;
    for (let n = 0; n < 1500; n++) {
      const purpose: ChallengePurpose = rand() < 0.5 ? 'login' : 'step_up';
      const key = rand() < 0.8 ? current : previous;
      const claims = { userId: randomUserId(rand), expiresAt: randomInteger(rand), epoch: randomInteger(rand) };
      const { challenge, id } = signChallenge(key, claims, purpose);
      for (const keys of KEY_LISTS) {
        for (const asked of PURPOSES) {
          const result = expectSame(keys, challenge, asked, `issued #${n}`);
          if (result !== null) {
            accepted++;
            expect(result).toStrictEqual({ ...claims, id });
          }
        }
      }
    }
    // Sanity: the corpus holds many valid challenges, not only refusals.
    expect(accepted).toBeGreaterThan(3000);
  });

  it('on every single-character replacement, deletion and insertion of issued challenges', () => {
    const rand = prng(1313);
    let compared = 0;
    for (let n = 0; n < 40; n++) {
      const claims = { userId: randomUserId(rand), expiresAt: randomInteger(rand), epoch: randomInteger(rand) };
      const purpose: ChallengePurpose = n % 2 ? 'login' : 'step_up';
      const { challenge } = signChallenge(current, claims, purpose);
      for (const mutated of singleEdits(challenge, rand, 3)) {
        expectSame(ring.hmacKeys('challenge'), mutated, purpose, `edit of #${n}`);
        expectSame([rawCurrent], mutated, purpose, `edit of #${n} (raw key)`);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(20_000);
  });

  it('on structural variants: every last character, truncations, extensions, extra and missing dots, other alphabets', () => {
    const rand = prng(7);
    for (let n = 0; n < 30; n++) {
      const claims = { userId: randomUserId(rand), expiresAt: randomInteger(rand), epoch: randomInteger(rand) };
      const { challenge } = signChallenge(current, claims);
      for (const variant of structuralVariants(challenge)) {
        for (const keys of KEY_LISTS.slice(0, 4)) {
          for (const asked of PURPOSES) expectSame(keys, variant, asked, `variant of #${n}`);
        }
      }
    }
  });

  it('accepts exactly the 16 canonical last characters of a signature whose MAC matches', () => {
    const { challenge } = signChallenge(current, { userId: 'user-1234', expiresAt: 1_764_000_345_000, epoch: 1 });
    const body = challenge.slice(0, -1);
    const last = challenge.at(-1)!;
    // The MAC fixes the 4 data bits of the last character; its 2 spare bits pick one of 4 spellings, only one canonical.
    const value = B64URL_CHARS.indexOf(last);
    expect(value & 3).toBe(0);
    expect('AEIMQUYcgkosw048').toContain(last);
    for (const char of B64URL_CHARS) {
      const result = expectSame([current], body + char, 'login', `last ${char}`);
      expect(result !== null, char).toBe(char === last);
    }
    for (let spare = 1; spare < 4; spare++) {
      expect(openChallenge([current], body + B64URL_CHARS[value | spare]!)).toBeNull();
    }
  });

  it('on signed payloads with odd fields (so the part after the MAC is compared too)', () => {
    const id = randomBytes(16).toString('base64url');
    const users = [
      '',
      'A',
      'AB',
      'ABC',
      'ABCDE',
      'dXNlci0xMjM0',
      'dXNlci0xMjM1',
      'dXNlci0xMjM',
      '_-_-',
      '____',
      '--',
      Buffer.from([0xff, 0xfe, 0x80, 0xc3]).toString('base64url'),
      Buffer.from('\uFFFD zoë 😀', 'utf8').toString('base64url'),
      Buffer.from([0xed, 0xa0, 0x80]).toString('base64url'),
      'A'.repeat(300),
    ];
    const integers = ['0', '1', '9', '10', '1764000345000', '9007199254740991', '9007199254740993', '9999999999999999', '00', '01', '-1', '1e3', '0x1', ' 1', '1 ', '١', '99999999999999999', ''];
    let accepted = 0;
    for (const prefix of ['c1', 's1', 'c2', '', 'C1']) {
      for (const user of users) {
        for (const expiresAt of integers) {
          for (const epoch of ['0', '9999999999999999', '01']) {
            for (const theId of [id, id.slice(1), `${id.slice(1)}=`, `${id.slice(1)}.`]) {
              const challenge = signPayload(current, `${prefix}.${user}.${expiresAt}.${epoch}.${theId}`);
              for (const asked of ['login', 'step_up'] as const) {
                if (expectSame([current], challenge, asked, 'signed odd fields') !== null) accepted++;
                expectSame([rawCurrent], challenge, asked, 'signed odd fields (raw key)');
              }
            }
          }
        }
      }
    }
    // c1 and s1 (each under its own purpose) × 15 user fields × 8 canonical integers × 2 epochs × the one 22-character id.
    expect(accepted).toBe(2 * users.length * 8 * 2);
  });

  it('on inputs that are not strings, empty, or at and past the length limit', () => {
    for (const input of [undefined, null, 0, 42, true, {}, [], ['c1'], new String('c1.a.1.1.x.y'), Buffer.from('c1'), Symbol.for('c1'), () => 'c1', '', '.', '.....', 'c1.....', 'c1']) {
      for (const asked of PURPOSES) expectSame(KEY_LISTS[0]!, input, asked, 'junk');
    }
    // The longest legal challenge opens; one character more does not (signed, so only the length decides).
    const id = randomBytes(16).toString('base64url');
    const fixed = `c1..1764000345000.1.${id}.`.length + 43;
    for (const extra of [-1, 0, 1]) {
      const user = 'A'.repeat(MAX_CHALLENGE_LENGTH - fixed + extra);
      const challenge = signPayload(current, `c1.${user}.1764000345000.1.${id}`);
      expect(challenge.length).toBe(MAX_CHALLENGE_LENGTH + extra);
      const result = expectSame([current], challenge, 'login', `length limit ${extra}`);
      expect(result !== null).toBe(extra <= 0);
      expectSame([rawCurrent, previous], challenge, 'login', `length limit ${extra}, two keys`);
    }
    // A user id of the largest size the service allows.
    const { challenge } = signChallenge(current, { userId: '例'.repeat(MAX_USER_ID_BYTES / 3), expiresAt: 1, epoch: 1 });
    expect(expectSame([current], challenge, 'login', 'largest user id')?.userId).toBe('例'.repeat(MAX_USER_ID_BYTES / 3));
  });

  it('on payloads around the size where the MAC switches from the cached state to createHmac', () => {
    for (let length = 0; length <= 260; length++) {
      const userId = 'u'.repeat(length);
      const { challenge, id } = signChallenge(current, { userId, expiresAt: 5, epoch: 3 });
      for (const keys of KEY_LISTS) {
        const result = expectSame(keys, challenge, 'login', `user id of ${length}`);
        if (keys.includes(current)) expect(result).toStrictEqual({ userId, expiresAt: 5, epoch: 3, id });
      }
      const forged = challenge.slice(0, -43) + randomBytes(32).toString('base64url');
      expect(expectSame(ring.hmacKeys('challenge'), forged, 'login', `forged, user id of ${length}`)).toBeNull();
    }
  });

  it('on user ids of 1- to 4-byte characters around the size decoded through the scratch buffer (192 bytes)', () => {
    for (const char of ['a', 'é', '例', '😀']) {
      const bytes = Buffer.byteLength(char, 'utf8');
      for (let total = 180; total <= 204; total++) {
        const userId = char.repeat(Math.floor(total / bytes)) + 'z'.repeat(total % bytes);
        const { challenge, id } = signChallenge(current, { userId, expiresAt: 7, epoch: 2 });
        expect(expectSame([current], challenge, 'login', `user id of ${total} bytes of ${char}`)).toStrictEqual({ userId, expiresAt: 7, epoch: 2, id });
      }
    }
  });

  it('on purposes that are not a ChallengePurpose', () => {
    const { challenge } = signChallenge(current, { userId: 'user-1', expiresAt: 1, epoch: 1 });
    for (const purpose of ['', 'Login', 'stepUp', 'step-up', 'c1', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect(expectSame([current], challenge, purpose as ChallengePurpose, `purpose ${purpose}`)).toBeNull();
    }
  });
});
