import fc from 'fast-check';
import * as OTPAuth from 'otpauth';
import { generateSync } from 'otplib';
import { describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import { generateTotp, verifyTotp, type TotpAlgorithm, type TotpDigits, type TotpOptions } from '../../src/otp/index.ts';
import rfc4226 from '../vectors/rfc4226.json' with { type: 'json' };
import rfc6238 from '../vectors/rfc6238.json' with { type: 'json' };
import { MALFORMED_CODES } from './malformed-codes.ts';

const ascii = (text: string) => new TextEncoder().encode(text);
const ALGORITHMS: TotpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
const DIGITS: TotpDigits[] = [6, 7, 8];

/** Independent reference: otplib's own generator (epoch in seconds, lower-case algorithm names). */
function otplibCode(key: Uint8Array, nowMs: number, algorithm: TotpAlgorithm, digits: TotpDigits, period: number): string {
  return generateSync({
    secret: key,
    epoch: Math.floor(nowMs / 1000),
    algorithm: algorithm.toLowerCase() as 'sha1' | 'sha256' | 'sha512',
    digits,
    period,
  });
}

/** Throws unless `fn` throws an MfaError with `code`; returns its message. */
function mfaErrorMessage(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (error) {
    expect(isMfaError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return (error as Error).message;
  }
  throw new Error('expected an MfaError');
}

describe('RFC 6238 Appendix B vectors', () => {
  const rows = rfc6238.vectors.map((v) => ({ ...v, label: `${v.algorithm} T=${v.time}` }));
  const options = (v: (typeof rows)[number]): TotpOptions => ({
    now: v.time * 1000,
    algorithm: v.algorithm as TotpAlgorithm,
    digits: rfc6238.digits as TotpDigits,
    period: rfc6238.period,
  });

  it('has all 18 rows', () => expect(rows).toHaveLength(18));

  it.each(rows)('generateTotp matches $label with a raw-byte secret', (v) => {
    expect(generateTotp(ascii(v.seed), options(v))).toBe(v.code);
  });
  it.each(rows)('generateTotp matches $label with a base32 secret', (v) => {
    expect(generateTotp(v.seedBase32, options(v))).toBe(v.code);
  });
  it.each(rows)('verifyTotp accepts $label at delta 0 with a raw-byte secret', (v) => {
    expect(verifyTotp(ascii(v.seed), v.code, options(v))).toEqual({ delta: 0 });
  });
  it.each(rows)('verifyTotp accepts $label at delta 0 with a base32 secret', (v) => {
    expect(verifyTotp(v.seedBase32, v.code, options(v))).toEqual({ delta: 0 });
  });
});

describe('RFC 4226 Appendix D values (HOTP counter c as TOTP step c)', () => {
  const rows = rfc4226.vectors;
  it('has all 10 values', () => expect(rows).toHaveLength(10));

  it.each(rows)('counter $counter is $code with period 30 and now = c × 30 s', ({ counter, code }) => {
    expect(generateTotp(ascii(rfc4226.seed), { now: counter * 30_000 })).toBe(code);
    expect(generateTotp(rfc4226.seedBase32, { now: counter * 30_000 })).toBe(code);
    expect(verifyTotp(ascii(rfc4226.seed), code, { now: counter * 30_000, window: { past: 0, future: 0 } })).toEqual({ delta: 0 });
  });
  it.each(rows)('counter $counter is $code with period 1 and now = c × 1 s', ({ counter, code }) => {
    expect(generateTotp(ascii(rfc4226.seed), { now: counter * 1000, period: 1 })).toBe(code);
    expect(verifyTotp(rfc4226.seedBase32, code, { now: counter * 1000, period: 1, window: { past: 0, future: 0 } })).toEqual({
      delta: 0,
    });
  });
});

describe('agreement with otplib and otpauth', () => {
  const arbitraryCase = fc.record({
    key: fc.uint8Array({ minLength: 16, maxLength: 64 }), // otplib's guardrails allow 16..64 bytes
    nowMs: fc.integer({ min: 0, max: 4_102_444_800_000 }), // up to 2100
    algorithm: fc.constantFrom(...ALGORITHMS),
    digits: fc.constantFrom(...DIGITS),
    period: fc.integer({ min: 1, max: 120 }),
  });

  it('generateTotp equals otplib generateSync for random secrets, times, algorithms, digits and periods', () => {
    fc.assert(
      fc.property(arbitraryCase, ({ key, nowMs, algorithm, digits, period }) => {
        const nowS = Math.floor(nowMs / 1000) * 1000; // otplib works in whole seconds
        expect(generateTotp(key, { now: nowS, algorithm, digits, period })).toBe(otplibCode(key, nowS, algorithm, digits, period));
      }),
      { numRuns: 500 },
    );
  });

  it('generateTotp equals otpauth TOTP.generate for random secrets, times, algorithms, digits and periods', () => {
    fc.assert(
      fc.property(arbitraryCase, ({ key, nowMs, algorithm, digits, period }) => {
        const secret = new OTPAuth.Secret({ buffer: key.slice().buffer });
        const expected = OTPAuth.TOTP.generate({ secret, algorithm, digits, period, timestamp: nowMs });
        expect(generateTotp(secret.base32, { now: nowMs, algorithm, digits, period })).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('verifyTotp finds the delta of an otplib code from steps -1..+1 and refuses -2 and +2', () => {
    fc.assert(
      fc.property(arbitraryCase, fc.integer({ min: -2, max: 2 }), ({ key, nowMs, algorithm, digits, period }, offset) => {
        const step = Math.floor(nowMs / (period * 1000));
        fc.pre(step + offset >= 0);
        const code = otplibCode(key, (step + offset) * period * 1000, algorithm, digits, period);
        const window = [-1, 0, 1].map((d) => (step + d >= 0 ? otplibCode(key, (step + d) * period * 1000, algorithm, digits, period) : ''));
        fc.pre(Math.abs(offset) <= 1 || !window.includes(code)); // a code collision in the window is legitimately accepted
        const result = verifyTotp(key, code, { now: nowMs, algorithm, digits, period });
        const expected = Math.abs(offset) <= 1 ? [0, -1, 1].find((d) => window[d + 1] === code)! : null;
        expect(result).toEqual(expected === null ? null : { delta: expected });
      }),
      { numRuns: 500 },
    );
  });
});

describe('verification window', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const stepMs = 30_000;
  const now = 1_700_000_010_000; // inside a step, not on a boundary
  const codeAt = (offset: number, options: TotpOptions = {}) =>
    generateTotp(secret, { ...options, now: now + offset * (options.period ?? 30) * 1000 });

  it('the codes of steps -3..+3 around the fixed instant are all different (so the assertions below mean what they say)', () => {
    expect(new Set([-3, -2, -1, 0, 1, 2, 3].map((d) => codeAt(d))).size).toBe(7);
  });

  it.each([-1, 0, 1])('accepts the code of step %i with the default window and reports it as delta', (delta) => {
    expect(verifyTotp(secret, codeAt(delta), { now })).toEqual({ delta });
  });

  it.each([-3, -2, 2, 3])('refuses the code of step %i with the default window', (delta) => {
    expect(verifyTotp(secret, codeAt(delta), { now })).toBeNull();
  });

  it.each([
    { window: { past: 2, future: 0 }, accepted: [-2, -1, 0], refused: [-3, 1, 2] },
    { window: { past: 0, future: 0 }, accepted: [0], refused: [-1, 1] },
    { window: { past: 0, future: 2 }, accepted: [0, 1, 2], refused: [-1, 3] },
    { window: { past: 3, future: 1 }, accepted: [-3, -2, -1, 0, 1], refused: [2] },
  ])('window $window accepts $accepted and refuses $refused', ({ window, accepted, refused }) => {
    for (const delta of accepted) expect(verifyTotp(secret, codeAt(delta), { now, window })).toEqual({ delta });
    for (const delta of refused) expect(verifyTotp(secret, codeAt(delta), { now, window })).toBeNull();
  });

  it('the last millisecond of a step and the first of the next have different codes, and each verifies at delta 0 at its own instant', () => {
    const boundary = Math.ceil(now / stepMs) * stepMs;
    const last = generateTotp(secret, { now: boundary - 1 });
    const first = generateTotp(secret, { now: boundary });
    expect(last).toBe(generateTotp(secret, { now: boundary - stepMs }));
    expect(first).not.toBe(last);
    expect(verifyTotp(secret, last, { now: boundary - 1 })).toEqual({ delta: 0 });
    expect(verifyTotp(secret, first, { now: boundary - 1 })).toEqual({ delta: 1 });
    expect(verifyTotp(secret, first, { now: boundary })).toEqual({ delta: 0 });
    expect(verifyTotp(secret, last, { now: boundary })).toEqual({ delta: -1 });
  });

  it('a custom period moves the boundaries with it', () => {
    const options = { period: 60 };
    expect(verifyTotp(secret, codeAt(1, options), { ...options, now })).toEqual({ delta: 1 });
    expect(verifyTotp(secret, codeAt(2, options), { ...options, now })).toBeNull();
    expect(generateTotp(secret, { period: 60, now: 59_999 })).toBe(generateTotp(secret, { period: 60, now: 0 }));
  });

  it('skips steps before 0: at now = 0 only step 0 and later are tried, and nothing throws', () => {
    const step0 = generateTotp(secret, { now: 0 });
    expect(verifyTotp(secret, step0, { now: 0, window: { past: 10, future: 0 } })).toEqual({ delta: 0 });
    expect(verifyTotp(secret, step0, { now: 30_000, window: { past: 10, future: 0 } })).toEqual({ delta: -1 });
    const wrong = step0 === '000000' ? '000001' : '000000';
    expect(verifyTotp(secret, wrong, { now: 0, window: { past: 10, future: 10 } })).toBeNull();
  });

  it('now defaults to Date.now()', () => {
    const code = generateTotp(secret);
    expect(verifyTotp(secret, code)).not.toBeNull();
  });
});

describe('malformed codes return null and never throw', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  it.each<[string, unknown]>([
    ...MALFORMED_CODES,
    ['10,000 digits', '1'.repeat(10_000)],
    ['a sign', '-12345'],
    ['a decimal point', '1234.5'],
    ['a String object', new String('123456')],
  ])('%s → null', (_, code) => {
    expect(verifyTotp(secret, code, { now: 1_700_000_000_000 })).toBeNull();
  });

  it('never throws on any value (fast-check anything)', () => {
    fc.assert(
      fc.property(fc.anything(), (code) => {
        const result = verifyTotp(secret, code, { now: 1_700_000_000_000 });
        expect(result === null || typeof result.delta === 'number').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('a random string verifies exactly when it equals a code of the window, and then at that delta', () => {
    const codeFor = (key: Uint8Array, stepMs: number, step: number) => otplibCode(key, step * stepMs, 'SHA1', 6, 30);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 32 }),
        fc.integer({ min: 90_000, max: 4_102_444_800_000 }),
        fc.oneof(fc.string({ maxLength: 8 }), fc.stringMatching(/^[0-9]{6}$/), fc.integer({ min: -3, max: 3 })),
        (key, now, pick) => {
          const step = Math.floor(now / 30_000);
          const code = typeof pick === 'number' ? codeFor(key, 30_000, step + pick) : pick;
          const deltas = [0, -1, 1].filter((d) => codeFor(key, 30_000, step + d) === code);
          expect(verifyTotp(key, code, { now })).toEqual(deltas.length > 0 ? { delta: deltas[0] } : null);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('generate → verify', () => {
  it('always verifies at delta 0 for random secrets (bytes and base32), times and options', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 10, maxLength: 128 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.constantFrom(...ALGORITHMS),
        fc.constantFrom(...DIGITS),
        fc.integer({ min: 1, max: 120 }),
        (key, now, algorithm, digits, period) => {
          const options = { now, algorithm, digits, period };
          const code = generateTotp(key, options);
          expect(code).toMatch(new RegExp(`^[0-9]{${digits}}$`));
          expect(verifyTotp(key, code, options)).toEqual({ delta: 0 });
          const base32 = new OTPAuth.Secret({ buffer: key.slice().buffer }).base32;
          expect(verifyTotp(base32.toLowerCase(), code, options)).toEqual({ delta: 0 });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a base32 secret is read case-insensitively, with spaces and = padding', () => {
    const key = ascii('12345678901234567890');
    const code = generateTotp(key, { now: 0 });
    for (const form of ['GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 'gezdgnbvgy3tqojqgezdgnbvgy3tqojq', 'GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ']) {
      expect(generateTotp(form, { now: 0 })).toBe(code);
    }
    // 16 bytes: 26 characters, padded to 32.
    const key16 = ascii('1234567890123456');
    expect(generateTotp('GEZDGNBVGY3TQOJQGEZDGNBVGY======', { now: 0 })).toBe(generateTotp(key16, { now: 0 }));
  });
});

describe('misuse throws MfaError', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

  it.each<[string, Record<string, unknown>, string]>([
    ['lower-case algorithm', { algorithm: 'sha1' }, 'algorithm'],
    ['unknown algorithm', { algorithm: 'MD5' }, 'algorithm'],
    ['digits 5', { digits: 5 }, 'digits'],
    ['digits 9', { digits: 9 }, 'digits'],
    ['digits as a string', { digits: '6' }, 'digits'],
    ['period 0', { period: 0 }, 'period'],
    ['period 121', { period: 121 }, 'period'],
    ['period 1.5', { period: 1.5 }, 'period'],
    ['period NaN', { period: Number.NaN }, 'period'],
    ['period as a string', { period: '30' }, 'period'],
    ['now NaN', { now: Number.NaN }, 'now'],
    ['now Infinity', { now: Number.POSITIVE_INFINITY }, 'now'],
    ['now negative', { now: -1 }, 'now'],
    ['now as a string', { now: '0' }, 'now'],
    ['now as a Date', { now: new Date(0) }, 'now'],
  ])('%s → invalid_option naming %s, from generate and verify', (_, options, name) => {
    expect(mfaErrorMessage(() => generateTotp(secret, options as TotpOptions), 'invalid_option')).toContain(name);
    expect(mfaErrorMessage(() => verifyTotp(secret, '123456', options as TotpOptions), 'invalid_option')).toContain(name);
    // Misuse is reported even when the code is garbage, so a bad configuration cannot hide behind bad input.
    expect(mfaErrorMessage(() => verifyTotp(secret, 'garbage', options as TotpOptions), 'invalid_option')).toContain(name);
  });

  it.each<[string, unknown]>([
    ['past -1', { past: -1, future: 1 }],
    ['past 11', { past: 11, future: 0 }],
    ['future 1.5', { past: 0, future: 1.5 }],
    ['future missing', { past: 1 }],
    ['null', null],
    ['a number', 1],
  ])('window %s → invalid_option naming window', (_, window) => {
    expect(mfaErrorMessage(() => verifyTotp(secret, '123456', { window } as TotpOptions), 'invalid_option')).toContain('window');
  });

  it.each<[string, unknown]>([
    ['empty string', ''],
    ['only spaces', '    '],
    ['only padding', '========'],
    ['a character outside the alphabet', 'JBSWY3DPEHPK3PX1'],
    ['punctuation', 'JBSWY3DP-EHPK3PXP'],
    ['data after padding', 'JBSWY3DP=EHPK3PXP'],
    ['an impossible length (1 trailing character)', 'JBSWY3DPEHPK3PXPA'],
    ['non-zero unused trailing bits', 'GEZDGNBVGY3TQOJQGEZDGNBVGZ'],
    ['too short (5 bytes)', 'JBSWY3DP'],
    ['empty bytes', new Uint8Array(0)],
    ['9 bytes', new Uint8Array(9)],
    ['129 bytes', new Uint8Array(129)],
    ['a number', 12345],
    ['null', null],
    ['an array of numbers', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
  ])('secret %s → invalid_secret, from generate and verify', (_, bad) => {
    const fromGenerate = mfaErrorMessage(() => generateTotp(bad as string), 'invalid_secret');
    const fromVerify = mfaErrorMessage(() => verifyTotp(bad as string, '123456'), 'invalid_secret');
    if (typeof bad === 'string' && bad.trim().length > 3) {
      expect(fromGenerate).not.toContain(bad);
      expect(fromVerify).not.toContain(bad);
    }
  });

  it('no error message contains the secret, even a valid one with a bad option', () => {
    const message = mfaErrorMessage(() => verifyTotp(secret, '123456', { digits: 5 as TotpDigits }), 'invalid_option');
    expect(message).not.toContain(secret);
    expect(message).not.toContain(secret.slice(0, 8));
  });
});
