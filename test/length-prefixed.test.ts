import { describe, expect, it } from 'vitest';
import { isMfaError } from '../src/errors.ts';
import { lengthPrefixed } from '../src/length-prefixed.ts';

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
