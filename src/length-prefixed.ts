/**
 * Unambiguous encoding of several fields for hashing, MACs and associated
 * data: each field as a 32-bit big-endian byte length and its bytes (strings
 * as UTF-8), so no two different field lists encode alike:
 * ("ab", "c") ≠ ("a", "bc").
 */
export function lengthPrefixed(fields: readonly (string | Uint8Array)[]): Buffer {
  const parts = fields.map((field) => (typeof field === 'string' ? Buffer.from(field, 'utf8') : field));
  const out = Buffer.alloc(parts.reduce((sum, part) => sum + 4 + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    offset = out.writeUInt32BE(part.length, offset);
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
