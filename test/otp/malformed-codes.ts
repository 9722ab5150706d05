/**
 * Codes that are no well-formed 6-digit code: verifyTotp refuses each with
 * null, never throwing (test/otp/totp.test.ts), and before computing any
 * HMAC (test/otp/totp-hmac-count.test.ts).
 */
export const MALFORMED_CODES: Array<[string, unknown]> = [
  ['empty string', ''],
  ['5 digits', '12345'],
  ['7 digits', '1234567'],
  ['letters', 'abcdef'],
  ['full-width digits', '１２３４５６'],
  ['leading space', ' 123456'],
  ['trailing space', '123456 '],
  ['inner space', '12 3456'],
  ['a number', 123456],
  ['null', null],
  ['undefined', undefined],
  ['an object', {}],
  ['an array', []],
  ['10,000 characters', 'x'.repeat(10_000)],
];
