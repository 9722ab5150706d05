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

  it('issue 13: writes exactly what lengthPrefixed writes for strings of 1- to 4-byte characters, whatever the room in the scratch', () => {
    // UTF-8 takes 1 to 3 bytes per UTF-16 code unit: strings short enough to fit at 3 bytes each are written
    // without measuring them first, longer ones are measured; either way the bytes and the view must be exact.
    const pieces = ['a', 'Z', '~', '\u0000', 'é', 'ß', '€', '\uFFFD', '\uFFFF', '😀', '\u{10FFFF}'];
    let seed = 13;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let fastAndExact = 0;
    for (let trial = 0; trial < 400; trial++) {
      const fields: (string | Uint8Array)[] = Array.from({ length: 1 + next(4) }, () =>
        next(5) === 0 ? Uint8Array.from({ length: next(6) }, () => next(256)) : Array.from({ length: next(12) }, () => pieces[next(pieces.length)]!).join(''),
      );
      const expected = lengthPrefixed(fields);
      const bound = fields.reduce((n, f) => n + 4 + (typeof f === 'string' ? 3 * f.length : f.length), 0);
      for (const size of [expected.length - 1, expected.length, expected.length + 1, bound - 1, bound, bound + 7]) {
        if (size < 0) continue;
        const scratch = Buffer.alloc(size, 0xee);
        const view = lengthPrefixedInto(fields, scratch);
        expect(view.equals(expected), JSON.stringify(fields)).toBe(true);
        if (size >= expected.length) {
          expect(view.buffer).toBe(scratch.buffer);
          expect(scratch.subarray(view.length).every((b) => b === 0xee)).toBe(true);
        } else {
          expect(scratch.every((b) => b === 0xee)).toBe(true);
        }
        if (size >= bound && expected.length < bound) fastAndExact++;
      }
    }
    // The cases where only the 3-bytes-per-unit room lets the fast path write what must be measured exactly.
    expect(fastAndExact).toBeGreaterThan(300);
  });
});

