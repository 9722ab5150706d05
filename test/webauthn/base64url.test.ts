import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url, isBase64Url } from '../../src/webauthn/base64url.ts';

describe('base64url', () => {
  it.each([
    ['', []],
    ['AA', [0]],
    ['AAE', [0, 1]],
    ['AAEC', [0, 1, 2]],
    ['-_8', [0xfb, 0xff]],
  ])('decodes %j', (text, bytes) => {
    expect(decodeBase64Url(text, 16)).toEqual(Uint8Array.from(bytes));
  });

  it.each([
    ['padding', 'AA=='],
    ['a single pad', 'AAE='],
    ['the standard alphabet', '+/8'],
    ['a space', 'AA AA'],
    ['a newline', 'AAAA\n'],
    ['a length of 4n+1', 'AAAAA'],
    ['stray bits in the last character', 'AB'],
    ['stray bits, three characters', 'AAF'],
    ['a non-ASCII letter', 'AAÄA'],
    ['a number', 1234],
    ['null', null],
    ['a Buffer', Buffer.from('AAAA')],
  ])('refuses %s', (_name, text) => {
    expect(decodeBase64Url(text, 16)).toBeNull();
    expect(isBase64Url(text, 16)).toBe(false);
  });

  it('refuses more bytes than allowed, before decoding', () => {
    expect(decodeBase64Url('AAAA', 3)).toEqual(new Uint8Array(3));
    expect(decodeBase64Url('AAAAAA', 3)).toBeNull();
    expect(decodeBase64Url('A'.repeat(10_000_000), 64)).toBeNull();
  });

  it('round-trips any bytes, in one spelling only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = encodeBase64Url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64url'));
        expect(decodeBase64Url(text, 100)).toEqual(bytes);
      }),
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const bytes = decodeBase64Url(text, 100);
        if (bytes !== null) expect(encodeBase64Url(bytes)).toBe(text);
      }),
    );
  });
});
