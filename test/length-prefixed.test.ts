import { describe, expect, it } from 'vitest';
import { isMfaError } from '../src/errors.ts';
import { lengthPrefixed, lengthPrefixedInto } from '../src/length-prefixed.ts';

describe('lengthPrefixed', () => {
  it('writes each field as a 32-bit big-endian byte length and its bytes, strings as UTF-8', () => {
    expect(lengthPrefixed(['ab', Uint8Array.of(7), '', 'é']).toString('hex')).toBe('000000026162' + '0000000107' + '00000000' + '00000002c3a9');
  });

  it('never encodes two different field lists alike: ("ab", "c") ≠ ("a", "bc")', () => {
    expect(lengthPrefixed(['ab', 'c']).equals(lengthPrefixed(['a', 'bc']))).toBe(false);
  });

  it('issue 15 point 5: refuses a string with a lone surrogate (MfaError invalid_argument), which UTF-8 would write as U+FFFD', () => {
    // Three different strings that Buffer.from(…, 'utf8') writes alike.
    expect(Buffer.from('a\uD800', 'utf8').equals(Buffer.from('a\uDFFF', 'utf8'))).toBe(true);
    expect(Buffer.from('a\uD800', 'utf8').equals(Buffer.from('a\uFFFD', 'utf8'))).toBe(true);
    for (const lone of ['\uD800', 'a\uDFFF', '\uDC00b', 'x\uD83D', '\uDE00\uD83D']) {
      let error: unknown = null;
      try {
        lengthPrefixed(['user', lone]);
      } catch (e) {
        error = e;
      }
      expect(isMfaError(error, 'invalid_argument'), `${JSON.stringify(lone)}: ${String(error)}`).toBe(true);
    }
    // U+FFFD itself and a well-formed pair are fine.
    expect(lengthPrefixed(['a\uFFFD', '\uD83D\uDE00']).toString('hex')).toBe('0000000461efbfbd' + '00000004f09f9880');
  });
});

describe('lengthPrefixedInto', () => {
  it('writes what lengthPrefixed writes into the start of the scratch when it fits, and returns that view', () => {
    const scratch = Buffer.alloc(64, 0xee);
    const fields = ['ab', Uint8Array.of(7), '', 'é'];
    const view = lengthPrefixedInto(fields, scratch);
    expect(view.equals(lengthPrefixed(fields))).toBe(true);
    expect(view.buffer).toBe(scratch.buffer);
    expect(view.byteOffset).toBe(scratch.byteOffset);
    // Nothing past the encoding is touched.
    expect(scratch.subarray(view.length).every((b) => b === 0xee)).toBe(true);
  });

  it('exactly the scratch size still fits; one byte more gets a new buffer with the same bytes', () => {
    const fields = ['x'.repeat(10), 'yz'];
    const size = lengthPrefixed(fields).length;
    const exact = Buffer.alloc(size);
    expect(lengthPrefixedInto(fields, exact).buffer).toBe(exact.buffer);
    const small = Buffer.alloc(size - 1);
    const fresh = lengthPrefixedInto(fields, small);
    expect(fresh.buffer).not.toBe(small.buffer);
    expect(fresh.equals(lengthPrefixed(fields))).toBe(true);
    expect(small.every((b) => b === 0)).toBe(true);
  });

  it('refuses a lone surrogate before writing anything into the scratch', () => {
    const scratch = Buffer.alloc(64, 0xee);
    expect(() => lengthPrefixedInto(['user', 'a\uD800'], scratch)).toThrow(/lone surrogate/);
    expect(scratch.every((b) => b === 0xee)).toBe(true);
  });
});
