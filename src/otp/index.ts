/** RFC 4226/6238 codes and otpauth URIs: pure functions, no stores, no service rules. */
export { generateSecret } from './secret.ts';
export { generateTotp, verifyTotp, type TotpAlgorithm, type TotpDigits, type TotpOptions, type TotpWindow } from './totp.ts';
export { buildOtpauthUri, parseOtpauthUri, type OtpauthUriOptions, type ParsedOtpauthUri } from './uri.ts';
