import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMfaError } from '../src/errors.ts';
import {
  formatRecoveryCodesText,
  generateRecoveryCodes,
  hashRecoveryCode,
  normalizeRecoveryCode,
  recoveryCodesFilename,
} from '../src/recovery-codes.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const FORMAT = /^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){5}$/;
const CODE = '0123-4567-89AB-CDEF-GHJK-MNPQ';
const CANONICAL = '0123456789ABCDEFGHJKMNPQ';

function expectInvalidArgument(fn: () => unknown): Error {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isMfaError(error, 'invalid_argument'), `got ${String(error)}`).toBe(true);
  return error as Error;
}

describe('generateRecoveryCodes', () => {
  it('makes 10 codes by default, each XXXX-XXXX-XXXX-XXXX-XXXX-XXXX in Crockford base32', () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(FORMAT);
  });

  it.each([1, 16, 100])('makes %i codes on request', (count) => {
    const codes = generateRecoveryCodes(count);
    expect(codes).toHaveLength(count);
    expect(new Set(codes).size).toBe(count);
  });

  it('has at least 112 bits per code (24 characters × 5 bits = 120)', () => {
    const [code] = generateRecoveryCodes(1);
    const symbols = normalizeRecoveryCode(code)!;
    expect(ALPHABET).toHaveLength(32);
    expect(symbols.length * Math.log2(ALPHABET.length)).toBe(120);
    expect(symbols.length * Math.log2(ALPHABET.length)).toBeGreaterThanOrEqual(112);
  });

  it('never repeats a code across 10,000 codes (1,000 sets of 10)', () => {
    const all = Array.from({ length: 1000 }, () => generateRecoveryCodes(10)).flat();
    expect(all).toHaveLength(10_000);
    expect(new Set(all).size).toBe(10_000);
  });

  it('uses every character about equally often', () => {
    const counts = new Map<string, number>([...ALPHABET].map((c) => [c, 0]));
    const codes = Array.from({ length: 200 }, () => generateRecoveryCodes(50)).flat(); // 240,000 characters
    for (const code of codes) for (const c of code.replaceAll('-', '')) counts.set(c, counts.get(c)! + 1);
    expect(counts.size).toBe(32);
    const expected = (codes.length * 24) / 32;
    const chiSquare = [...counts.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    // 31 degrees of freedom: mean 31, and 100 is beyond p = 1e-8.
    expect(chiSquare).toBeLessThan(100);
  });

  it.each([0, 101, 1.5, -1, Number.NaN, '10', null])('rejects count %s', (count) => {
    expectInvalidArgument(() => generateRecoveryCodes(count as number));
  });
});

describe('normalizeRecoveryCode', () => {
  it.each([
    ['the formatted code', CODE, CANONICAL],
    ['the canonical code', CANONICAL, CANONICAL],
    ['lowercase', CODE.toLowerCase(), CANONICAL],
    ['no dashes, mixed case', '0123456789abCDEFghjkMNPQ', CANONICAL],
    ['spaces between groups', '0123 4567 89AB CDEF GHJK MNPQ', CANONICAL],
    ['tabs, newlines and padding', ' \t0123-4567\n89AB-CDEF-GHJK-MNPQ\t ', CANONICAL],
    ['typographic dashes', '0123‐4567–89AB—CDEF−GHJK‑MNPQ', CANONICAL],
    ['O for 0', 'O123-4567-89AB-CDEF-GHJK-MNPQ', CANONICAL],
    ['o for 0', 'o123-4567-89AB-CDEF-GHJK-MNPQ', CANONICAL],
    ['l and L for 1', '0l23-4567-89AB-CDEF-GHJK-MNPQ', CANONICAL],
    ['I for 1', '0I23-4567-89AB-CDEF-GHJK-MNPQ', CANONICAL],
    ['i for 1', '0i23-4567-89AB-CDEF-GHJK-MNPQ', CANONICAL],
    ['all look-alikes', 'OOOO-IIII-LLLL-oooo-iiii-llll', '000011111111000011111111'],
  ])('accepts %s', (_, input, expected) => {
    expect(normalizeRecoveryCode(input)).toBe(expected);
  });

  it.each([
    ['U, not in the alphabet', '0123-4567-89AB-CDEF-GHJK-MNPU'],
    ['u, not in the alphabet', '0123-4567-89AB-CDEF-GHJK-MNPu'],
    ['one character short', '0123-4567-89AB-CDEF-GHJK-MNP'],
    ['one character long', '0123-4567-89AB-CDEF-GHJK-MNPQR'],
    ['two codes', `${CODE} ${CODE}`],
    ['an empty string', ''],
    ['only separators', '---- ----'],
    ['an underscore', '0123_4567-89AB-CDEF-GHJK-MNPQ'],
    ['a dot', '0123.4567-89AB-CDEF-GHJK-MNPQ'],
    ['an emoji', '0123-4567-89AB-CDEF-GHJK-MNP🚀'],
    ['ß, which uppercases to SS', '0123-4567-89AB-CDEF-GHJK-Mß'],
    ['dotless ı, which uppercases to I', '0ı23-4567-89AB-CDEF-GHJK-MNPQ'],
    ['fullwidth digits', '０123-4567-89AB-CDEF-GHJK-MNPQ'],
    ['over 200 characters', `${' '.repeat(200)}${CANONICAL}`],
    ['a number', 123456789],
    ['null', null],
    ['undefined', undefined],
    ['an object', { code: CODE }],
    ['an array', [CODE]],
  ])('rejects %s with null', (_, input) => {
    expect(normalizeRecoveryCode(input)).toBeNull();
  });

  it('is idempotent and never throws', () => {
    const codeLike = fc.stringMatching(/^[0-9A-Za-z \-–oOiIlLuU]{0,40}$/);
    fc.assert(
      fc.property(fc.oneof(codeLike, fc.string(), fc.anything()), (input) => {
        const once = normalizeRecoveryCode(input);
        if (once !== null) {
          expect(once).toMatch(/^[0-9A-HJKMNP-TV-Z]{24}$/);
          expect(normalizeRecoveryCode(once)).toBe(once);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every generated code, formatted or not', () => {
    for (const code of generateRecoveryCodes(100)) {
      expect(normalizeRecoveryCode(code)).toBe(code.replaceAll('-', ''));
      expect(normalizeRecoveryCode(code.replaceAll('-', '').toLowerCase())).toBe(code.replaceAll('-', ''));
    }
  });
});

describe('hashRecoveryCode', () => {
  const key = new Uint8Array(32).fill(7);

  it('is 64 lowercase hex characters and deterministic', () => {
    expect(hashRecoveryCode('user-1', CODE)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecoveryCode('user-1', CODE, key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecoveryCode('user-1', CODE)).toBe(hashRecoveryCode('user-1', CODE));
    expect(hashRecoveryCode('user-1', CODE, key)).toBe(hashRecoveryCode('user-1', CODE, key));
  });

  it('matches the documented message layout', async () => {
    const { createHash, createHmac } = await import('node:crypto');
    const message = Buffer.concat([
      Buffer.from('twofold/v1/recovery-code'),
      Buffer.from([0, 0, 0, 6]),
      Buffer.from('user-1'),
      Buffer.from([0, 0, 0, 24]),
      Buffer.from(CANONICAL),
    ]);
    expect(hashRecoveryCode('user-1', CODE)).toBe(createHash('sha256').update(message).digest('hex'));
    expect(hashRecoveryCode('user-1', CODE, key)).toBe(createHmac('sha256', key).update(message).digest('hex'));
  });

  it('hashes every typed form of a code alike', () => {
    const expected = hashRecoveryCode('user-1', CODE);
    for (const typed of [CANONICAL, CODE.toLowerCase(), '0123 4567 89ab cdef ghjk mnpq', 'O123-4567-89AB-CDEF-GHJK-MNPQ']) {
      expect(hashRecoveryCode('user-1', typed)).toBe(expected);
    }
  });

  it('differs by user, by code, with and without a key, and by key', () => {
    const hashes = [
      hashRecoveryCode('user-1', CODE),
      hashRecoveryCode('user-2', CODE),
      hashRecoveryCode('user-1', '0123-4567-89AB-CDEF-GHJK-MNPR'),
      hashRecoveryCode('user-1', CODE, key),
      hashRecoveryCode('user-1', CODE, new Uint8Array(32).fill(8)),
      hashRecoveryCode('user-2', CODE, key),
    ];
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('binds the user unambiguously: user ids that prefix one another hash apart', () => {
    // Codes have a fixed length, so the length prefixes (checked in the layout test above) are
    // belt and braces here; still, no user id may share a hash with another.
    expect(hashRecoveryCode('ab', CODE)).not.toBe(hashRecoveryCode('a', CODE));
    expect(hashRecoveryCode('user-1', CODE)).not.toBe(hashRecoveryCode('user-10', CODE));
    expect(hashRecoveryCode('user-1', CODE, key)).not.toBe(hashRecoveryCode('user-10', CODE, key));
  });

  it.each([
    ['an empty userId', '', CODE, undefined],
    ['a numeric userId', 42, CODE, undefined],
    ['a userId with a lone surrogate', 'u\uD800', CODE, undefined],
    ['a malformed code', 'user-1', 'not-a-code', undefined],
    ['a code with U', 'user-1', '0123-4567-89AB-CDEF-GHJK-MNPU', undefined],
    ['a non-string code', 'user-1', 42, undefined],
    ['a short key', 'user-1', CODE, new Uint8Array(16)],
    ['a string key', 'user-1', CODE, 'k'.repeat(32)],
  ])('rejects %s with invalid_argument and no code in the message', (_, userId, code, pepper) => {
    const error = expectInvalidArgument(() => hashRecoveryCode(userId as string, code as string, pepper as Uint8Array));
    if (typeof code === 'string') {
      expect(error.message).not.toContain(code);
      expect(error.message).not.toContain(normalizeRecoveryCode(code) ?? code);
    }
  });
});

describe('formatRecoveryCodesText', () => {
  const codes = generateRecoveryCodes(10);
  const createdAt = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
  const text = formatRecoveryCodesText({ issuer: 'Example App', accountName: 'alice@example.com', codes, createdAt });

  it('holds the issuer, account, creation time in UTC, the instruction and every code, numbered', () => {
    const lines = text.split('\n');
    expect(lines[0]).toBe('Example App recovery codes for alice@example.com');
    expect(text).toContain('2025-01-02T03:04:05Z');
    expect(text).toContain('Each code works once.');
    expect(text).toContain('like a password manager');
    expect(text).toContain('can sign in as you');
    codes.forEach((code, i) => expect(lines).toContain(`${String(i + 1).padStart(2)}. ${code}`));
  });

  it('ends with a newline and uses \\n line ends only', () => {
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
    expect(text).not.toContain('\r');
  });

  it('accepts a Date and codes in any typed form', () => {
    const fromDate = formatRecoveryCodesText({
      issuer: 'Example App',
      accountName: 'alice@example.com',
      codes: codes.map((c) => c.replaceAll('-', '').toLowerCase()),
      createdAt: new Date(createdAt),
    });
    expect(fromDate).toBe(text);
  });

  it('keeps issuer and account on one line', () => {
    const out = formatRecoveryCodesText({ issuer: 'Evil\nCreated 1999', accountName: 'a\r\nb\u2028c', codes, createdAt });
    expect(out.split('\n')[0]).toBe('Evil Created 1999 recovery codes for a b c');
  });

  it.each([
    ['a non-string issuer', { issuer: 1 }],
    ['a non-string account', { accountName: null }],
    ['no codes', { codes: [] }],
    ['a malformed code', { codes: ['nope'] }],
    ['an invalid date', { createdAt: new Date(Number.NaN) }],
    ['a string date', { createdAt: '2025-01-01' }],
    ['an infinite time', { createdAt: Number.POSITIVE_INFINITY }],
  ])('rejects %s', (_, override) => {
    expectInvalidArgument(() =>
      formatRecoveryCodesText({ issuer: 'X', accountName: 'y', codes, createdAt, ...(override as object) } as never),
    );
  });
});

describe('recoveryCodesFilename', () => {
  it.each([
    ['Example App', 'example-app-recovery-codes.txt'],
    ['ACME, Inc.', 'acme-inc-recovery-codes.txt'],
    ['Crème Brûlée', 'creme-brulee-recovery-codes.txt'],
    ['  --My   App--  ', 'my-app-recovery-codes.txt'],
    ['../../etc/passwd', 'etc-passwd-recovery-codes.txt'],
    ['例え', 'recovery-codes.txt'],
    ['🚀', 'recovery-codes.txt'],
    ['', 'recovery-codes.txt'],
    ['a'.repeat(100), `${'a'.repeat(40)}-recovery-codes.txt`],
    [`${'a'.repeat(39)} b`, `${'a'.repeat(39)}-recovery-codes.txt`],
  ])('%j → %s', (issuer, expected) => {
    expect(recoveryCodesFilename(issuer)).toBe(expected);
  });

  it('only ever yields lowercase ASCII letters, digits and hyphens', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (issuer) => {
        expect(recoveryCodesFilename(issuer)).toMatch(/^(?:[a-z0-9]+(?:-[a-z0-9]+)*-)?recovery-codes\.txt$/);
      }),
    );
  });

  it('rejects a non-string issuer', () => {
    expectInvalidArgument(() => recoveryCodesFilename(undefined as unknown as string));
  });
});
