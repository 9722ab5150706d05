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
  // Every field is checked before anything is written; strings are written straight into the result.
  let total = 0;
  for (const field of fields) {
    if (typeof field === 'string') {
      checkWellFormed(field);
      total += 4 + Buffer.byteLength(field, 'utf8');
    } else {
      total += 4 + field.length;
    }
  }
  // Zero-filled and outside Node's shared pool, as before: a field may be a secret.
  const out = Buffer.alloc(total);
  let offset = 0;
  for (const field of fields) {
    if (typeof field === 'string') {
      const length = Buffer.byteLength(field, 'utf8');
      offset = out.writeUInt32BE(length, offset);
      // Well-formed, so exactly `length` bytes.
      offset += out.write(field, offset, length, 'utf8');
    } else {
      offset = out.writeUInt32BE(field.length, offset);
      out.set(field, offset);
      offset += field.length;
    }
  }
  return out;
}

/**
 * @throws {MfaError} `invalid_argument` if `text` is not well-formed UTF-16
 * (it holds a lone surrogate), which {@link lengthPrefixed} refuses.
 */
export function checkWellFormed(text: string): void {
  if (!text.isWellFormed()) {
    throw new MfaError('invalid_argument', 'a string to encode is not well-formed Unicode (it holds a lone surrogate)');
  }
}
