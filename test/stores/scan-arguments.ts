/**
 * Arguments every adapter's `UserStore.scan` refuses with MfaError
 * `invalid_argument` before touching its database: page sizes outside
 * 1..10,000 and cursors it never made. (A cursor another adapter made may
 * happen to be well-formed here; these are not well-formed for any.)
 */
export const BAD_LIMITS: Array<[string, unknown]> = [
  ['0', 0],
  ['-1', -1],
  ['1.5', 1.5],
  ['NaN', Number.NaN],
  ['10,001', 10_001],
  ['a string', '10'],
];

export const BAD_CURSORS: Array<[string, unknown]> = [
  ['empty', ''],
  ['junk', 'not a cursor'],
  ['SQL', "' OR 1=1 --"],
  ['a number', 42],
  ['upper-case hex and a colon', `${'AB'.repeat(32)}:7`],
];
