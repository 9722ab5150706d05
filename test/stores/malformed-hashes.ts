/**
 * Values that are no recovery-code hash (64 lowercase hex characters): every
 * adapter refuses each with MfaError invalid_argument. An adapter's file adds
 * the cases particular to its engine (SQL, Lua).
 */
export const MALFORMED_HASHES: Array<[string, unknown]> = [
  ['uppercase hex', 'A'.repeat(64)],
  ['63 characters', 'a'.repeat(63)],
  ['65 characters', 'a'.repeat(65)],
  ['non-hex', 'g'.repeat(64)],
  ['the empty string', ''],
  ['a trailing newline', `${'a'.repeat(64)}\n`],
  ['a number', 42],
  ['undefined', undefined],
];
