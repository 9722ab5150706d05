import { MfaError } from './errors.ts';

/**
 * Unambiguous encoding of several fields for hashing, MACs and associated
 * data: each field as a 32-bit big-endian byte length and its bytes (strings
 * as UTF-8), so no two different field lists encode alike:
 * ("ab", "c") ≠ ("a", "bc").
 *
 * @throws {MfaError} `invalid_argument` for a string that is not well-formed
 * UTF-16 (a lone surrogate): UTF-8 would write it as U+FFFD, and two
 * different strings would encode alike.
 */
export function lengthPrefixed(fields: readonly (string | Uint8Array)[]): Buffer {
  const parts = fields.map((field) => {
    if (typeof field !== 'string') return field;
    if (!field.isWellFormed()) {
      throw new MfaError('invalid_argument', 'a string to encode is not well-formed Unicode (it holds a lone surrogate)');
    }
    return Buffer.from(field, 'utf8');
  });
  const out = Buffer.alloc(parts.reduce((sum, part) => sum + 4 + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    offset = out.writeUInt32BE(part.length, offset);
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
