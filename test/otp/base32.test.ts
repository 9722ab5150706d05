import fc from 'fast-check';
import { ScureBase32Plugin } from 'otplib';
import { describe, expect, it } from 'vitest';
import { decodeBase32, encodeBase32 } from '../../src/otp/base32.ts';

const ascii = (text: string) => new TextEncoder().encode(text);
const scure = new ScureBase32Plugin();

describe('base32 (RFC 4648)', () => {
  // RFC 4648 §10 test vectors, padding removed.
  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('RFC 4648 vector %j ↔ %s', (text, base32) => {
    expect(encodeBase32(ascii(text))).toBe(base32);
    expect(decodeBase32(base32)).toEqual(ascii(text));
  });

  it('encodes as @scure/base (otplib) does and decodes back, for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const encoded = encodeBase32(bytes);
        expect(encoded).toBe(scure.encode(bytes, { padding: false }));
        expect(new Uint8Array(decodeBase32(encoded)!)).toEqual(bytes);
      }),
    );
  });

  it('decodes lower case, spaces anywhere and trailing = padding', () => {
    expect(decodeBase32('mzxw6ytboi')).toEqual(ascii('foobar'));
    expect(decodeBase32(' MZX W6Y TBO I ')).toEqual(ascii('foobar'));
    expect(decodeBase32('MZXW6YTBOI======')).toEqual(ascii('foobar'));
    expect(decodeBase32('MZXW6YTBOI== ==')).toEqual(ascii('foobar'));
  });

  it.each([
    ['a character outside the alphabet', 'MZXW6YT1'],
    ['a non-ASCII letter', 'MZXW6YTÉ'],
    ['a full-width letter', 'ＭＺＸＷ６ＹＴＢ'],
    ['data after padding', 'MY==MZXQ'],
    ['1 character in the last group', 'MZXW6YTBO'],
    ['3 characters in the last group', 'MZXW6YTBOIA'],
    ['6 characters in the last group', 'MZXW6YTBOIAAAA'],
    ['non-zero unused trailing bits', 'MZ'],
  ])('refuses %s', (_, text) => {
    expect(decodeBase32(text)).toBeNull();
  });
});
