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
  return writeFields(fields, Buffer.alloc(encodedLength(fields)));
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
  const length = encodedLength(fields);
  return writeFields(fields, length <= scratch.length ? scratch.subarray(0, length) : Buffer.alloc(length));
}

/** Every field is checked before anything is written. */
function encodedLength(fields: readonly (string | Uint8Array)[]): number {
  let total = 0;
  for (const field of fields) {
    if (typeof field === 'string') {
      checkWellFormed(field);
      total += 4 + Buffer.byteLength(field, 'utf8');
    } else {
      total += 4 + field.length;
    }
  }
  return total;
}

/** Strings are written straight into `out`, which is exactly encodedLength(fields) long. */
function writeFields(fields: readonly (string | Uint8Array)[], out: Buffer): Buffer {
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
