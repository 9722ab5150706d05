import { MfaError } from '../errors.ts';
import { decodeBase32, encodeBase32 } from './base32.ts';
import { MAX_SECRET_BYTES, MIN_SECRET_BYTES, secretToKey, wipeKey } from './secret.ts';
import { checkAlgorithm, checkDigits, checkPeriod, MAX_PERIOD, type TotpAlgorithm, type TotpDigits } from './totp.ts';

/** What {@link buildOtpauthUri} puts in an otpauth URI. */
export interface OtpauthUriOptions {
  /** Service name shown in the authenticator app, e.g. `'Example App'`. */
  issuer: string;
  /** Which account of the issuer, e.g. the user's email. */
  accountName: string;
  /** Base32 (any case, spaces and padding tolerated) or the raw key bytes. */
  secret: string | Uint8Array;
  /** Default `'SHA1'`; left out of the URI when default. */
  algorithm?: TotpAlgorithm;
  /** Default 6; left out of the URI when default. */
  digits?: TotpDigits;
  /** Seconds, integer 1..120, default 30; left out of the URI when default. */
  period?: number;
}

/** What {@link parseOtpauthUri} reads from an otpauth URI. */
export interface ParsedOtpauthUri {
  /** From the label prefix or the `issuer` parameter; absent when the URI has neither. */
  issuer?: string;
  /** The account part of the label, decoded (e.g. `'alice@example.com'`). */
  accountName: string;
  /** Canonical base32: uppercase, no padding, no spaces. */
  secret: string;
  /** From the `algorithm` parameter; `'SHA1'` when absent. */
  algorithm: TotpAlgorithm;
  /** From the `digits` parameter; 6 when absent. */
  digits: TotpDigits;
  /** Seconds. */
  period: number;
}

const PREFIX = 'otpauth://totp/';
/**
 * C0 and C1 controls, line and paragraph separators, and bidirectional
 * overrides: never part of a real name, and a way to spoof what the
 * authenticator app displays (e.g. an issuer rendered right-to-left).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function invalidUri(message: string): MfaError {
  return new MfaError('invalid_uri', message);
}

/** Refuse a name that cannot survive the `issuer:account` label unambiguously. */
function checkName(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw invalidUri(`${name} must be a non-empty string`);
  if (value.includes(':') || /%3a/i.test(value)) throw invalidUri(`${name} must not contain ':' (it separates issuer and account in the label)`);
  if (CONTROL.test(value)) throw invalidUri(`${name} must not contain control characters`);
  return value;
}

/** Percent-encode a name for build; surrounding whitespace is refused since the label format lets readers drop spaces after the colon. */
function encodeName(value: string, name: string): string {
  if (/^\s|\s$/.test(value)) throw invalidUri(`${name} must not start or end with whitespace`);
  try {
    return encodeURIComponent(value);
  } catch {
    throw invalidUri(`${name} is not well-formed Unicode`);
  }
}

/**
 * Build the otpauth URI an authenticator app scans (Google Authenticator
 * Key URI format): `otpauth://totp/Issuer:account?secret=...&issuer=...`,
 * with algorithm, digits and period only when not the defaults, since some
 * apps ignore or choke on them. Names are percent-encoded (`%20`, never
 * `+`, which apps would show literally), the issuer is repeated as a
 * parameter as the format recommends, and the secret is canonical base32
 * without padding. Throws `MfaError` `'invalid_uri'` for an empty or
 * non-string name, one containing `:` (raw or `%3A`) or control characters,
 * or one starting or ending with whitespace (it would not round-trip);
 * `'invalid_secret'` or `'invalid_option'` as {@link generateTotp} does.
 *
 * @example
 * ```ts
 * import { buildOtpauthUri, generateSecret } from 'twofold';
 *
 * const uri = buildOtpauthUri({ issuer: 'Example App', accountName: 'alice@example.com', secret: generateSecret() });
 * // 'otpauth://totp/Example%20App:alice%40example.com?secret=...&issuer=Example%20App'
 * ```
 */
export function buildOtpauthUri(options: OtpauthUriOptions): string {
  const issuer = encodeName(checkName(options?.issuer, 'issuer'), 'issuer');
  const accountName = encodeName(checkName(options?.accountName, 'accountName'), 'accountName');
  const algorithm = checkAlgorithm(options.algorithm);
  const digits = checkDigits(options.digits);
  const period = checkPeriod(options.period);
  const key = secretToKey(options.secret);
  const secret = encodeBase32(key);
  wipeKey(key, options.secret);
  let uri = `${PREFIX}${issuer}:${accountName}?secret=${secret}&issuer=${issuer}`;
  if (algorithm !== 'sha1') uri += `&algorithm=${algorithm.toUpperCase()}`;
  if (digits !== 6) uri += `&digits=${digits}`;
  if (period !== 30) uri += `&period=${period}`;
  return uri;
}

function decodePart(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidUri(`malformed percent-encoding in ${what}`);
  }
}

/**
 * Read an `otpauth://totp/` URI, e.g. to import an account from another
 * app. Percent-encoding is decoded strictly and `+` is a literal plus. The
 * secret must be base32 of at least 10 bytes (80 bits, what many providers
 * still issue; below that codes are too guessable offline); algorithm is
 * read case-insensitively. Throws `MfaError('invalid_uri')` for anything
 * else: another scheme or `hotp`, a missing or bad secret, an unknown
 * algorithm, digits other than 6/7/8, a period outside 1..120 s, a label
 * issuer that disagrees with the `issuer` parameter, a repeated
 * parameter (parsers disagree on which one wins), a raw `#`, or names that
 * {@link buildOtpauthUri} would refuse.
 *
 * @example
 * ```ts
 * import { parseOtpauthUri } from 'twofold';
 *
 * const { issuer, accountName, secret, algorithm, digits, period } = parseOtpauthUri(
 *   'otpauth://totp/Example%20App:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example%20App',
 * );
 * // 'Example App', 'alice@example.com', 'JBSWY3DPEHPK3PXP', 'SHA1', 6, 30
 * ```
 */
export function parseOtpauthUri(uri: string): ParsedOtpauthUri {
  if (typeof uri !== 'string') throw invalidUri('uri must be a string');
  if (uri.slice(0, PREFIX.length).toLowerCase() !== PREFIX) throw invalidUri(`only ${PREFIX} URIs are supported (not hotp, not another scheme)`);
  if (uri.includes('#')) throw invalidUri("uri must not contain a raw '#' (encode it as %23)");
  if (CONTROL.test(uri)) throw invalidUri('uri must not contain control characters');
  const rest = uri.slice(PREFIX.length);
  const query = rest.indexOf('?');
  if (query < 0) throw invalidUri('uri has no parameters (secret is required)');

  const label = decodePart(rest.slice(0, query), 'the label');
  const colon = label.indexOf(':');
  const labelIssuer = colon < 0 ? undefined : checkName(label.slice(0, colon), 'the label issuer');
  const accountName = checkName(colon < 0 ? label : label.slice(colon + 1).replace(/^ +/, ''), 'the account name');

  const params = new Map<string, string>();
  for (const pair of rest.slice(query + 1).split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = decodePart(equals < 0 ? pair : pair.slice(0, equals), 'a parameter name');
    if (params.has(key)) throw invalidUri(`parameter ${key} is repeated`);
    params.set(key, equals < 0 ? '' : decodePart(pair.slice(equals + 1), `parameter ${key}`));
  }

  const key = decodeBase32(params.get('secret') ?? '');
  if (key === null || key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw invalidUri(`secret must be base32 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`);
  }
  const secret = encodeBase32(key);
  key.fill(0);

  const issuerParam = params.get('issuer');
  if (issuerParam !== undefined) checkName(issuerParam, 'the issuer parameter');
  if (labelIssuer !== undefined && issuerParam !== undefined && labelIssuer !== issuerParam) {
    throw invalidUri('the label issuer and the issuer parameter disagree');
  }
  const issuer = issuerParam ?? labelIssuer;

  const algorithm = (params.get('algorithm') ?? 'SHA1').toUpperCase();
  if (algorithm !== 'SHA1' && algorithm !== 'SHA256' && algorithm !== 'SHA512') {
    throw invalidUri('algorithm must be SHA1, SHA256 or SHA512');
  }
  const digits = params.get('digits') ?? '6';
  if (digits !== '6' && digits !== '7' && digits !== '8') throw invalidUri('digits must be 6, 7 or 8');
  const period = params.get('period') ?? '30';
  if (!/^[1-9][0-9]{0,2}$/.test(period) || Number(period) > MAX_PERIOD) {
    throw invalidUri(`period must be an integer from 1 to ${MAX_PERIOD}`);
  }

  const parsed: ParsedOtpauthUri = { accountName, secret, algorithm, digits: Number(digits) as TotpDigits, period: Number(period) };
  if (issuer !== undefined) parsed.issuer = issuer;
  return parsed;
}
