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
  // Zero-filled and outside Node's shared pool, as before: a field may be a secret.
  const out = Buffer.alloc(encodedLength(fields));
  writeFields(fields, out);
  return out;
}

/**
 * {@link lengthPrefixed} written into the start of `scratch` when it fits
 * (the view of it that holds the encoding), else into a new buffer as
 * lengthPrefixed does: for a hot path that encodes short fields over and
 * over. The caller wipes the scratch after use when a field is secret.
 *
 * @throws {MfaError} as {@link lengthPrefixed}, before anything is written.
 */
export function lengthPrefixedInto(fields: readonly (string | Uint8Array)[], scratch: Buffer): Buffer {
  // When even the bound fits, the strings are written without measuring them first.
  if (encodedLength(fields, true) <= scratch.length) return scratch.subarray(0, writeFields(fields, scratch));
  const length = encodedLength(fields);
  const out = length <= scratch.length ? scratch.subarray(0, length) : Buffer.alloc(length);
  writeFields(fields, out);
  return out;
}

/**
 * The encoding's length, or with `bound` an upper bound on it that measures
 * no string: at most 3 UTF-8 bytes per UTF-16 code unit (a surrogate pair
 * is 4 bytes for 2). Every field is checked before anything is written.
 */
function encodedLength(fields: readonly (string | Uint8Array)[], bound = false): number {
  let total = 0;
  for (const field of fields) {
    if (typeof field === 'string') {
      checkWellFormed(field);
      total += 4 + (bound ? 3 * field.length : Buffer.byteLength(field, 'utf8'));
    } else {
      total += 4 + field.length;
    }
  }
  return total;
}

/**
 * Writes the encoding at the start of `out`, which has room for all of it
 * (encodedLength(fields) bytes or more): the offset where it ends.
 */
function writeFields(fields: readonly (string | Uint8Array)[], out: Buffer): number {
  let offset = 0;
  for (const field of fields) {
    if (typeof field === 'string') {
      // Well-formed, with room for all of it: write writes every byte and says how many.
      const length = out.write(field, offset + 4, 'utf8');
      out.writeUInt32BE(length, offset);
      offset += 4 + length;
    } else {
      offset = out.writeUInt32BE(field.length, offset);
      out.set(field, offset);
      offset += field.length;
    }
  }
  return offset;
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
