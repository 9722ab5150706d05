import { randomBytes } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { MfaError } from './errors.ts';
import { lengthPrefixed } from './length-prefixed.ts';

/** Crockford base32: no I, L, O or U, so a code read aloud or retyped has no look-alikes. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 24 characters × 5 bits = 120 bits, above the 112 bits NIST SP 800-63B asks of a look-up secret. */
const CODE_CHARS = 24;
const CODE_BYTES = 15;
const GROUP_CHARS = 4;
const MAX_COUNT = 100;
const MAX_INPUT_CHARS = 200;
const HASH_LABEL = 'twofold/v1/recovery-code';
const MIN_PEPPER_BYTES = 32;
/** Whitespace, ASCII hyphen, and the dashes a word processor or phone keyboard substitutes. */
const SEPARATORS = /[\s\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212]/gu;
/** Crockford decoding: O reads as 0; I and L read as 1. */
const LOOK_ALIKES: Readonly<Record<string, string>> = { O: '0', I: '1', L: '1' };

/**
 * Generates `count` recovery codes (default 10), each 120 random bits from the
 * platform CSPRNG written as 24 Crockford base32 characters in groups of four:
 * `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`. 15 bytes are exactly 24 five-bit digits,
 * so every character is uniform, with no modulo bias.
 *
 * @throws {MfaError} `invalid_argument` unless `count` is an integer 1..100.
 *
 * @example
 * ```ts
 * import { generateRecoveryCodes } from 'twofold';
 *
 * const codes = generateRecoveryCodes();   // 10 codes like 'EKTR-P7N2-2V3R-T06A-D874-8SXC'
 * const more = generateRecoveryCodes(16);
 * ```
 */
export function generateRecoveryCodes(count = 10): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new MfaError('invalid_argument', `generateRecoveryCodes: count must be an integer from 1 to ${MAX_COUNT}`);
  }
  const codes = new Set<string>();
  // A repeat has probability ~2^-114 per set; skipping it keeps every code distinct.
  while (codes.size < count) codes.add(formatCode(encodeBase32(randomBytes(CODE_BYTES))));
  return [...codes];
}

function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function formatCode(canonical: string): string {
  return canonical.match(new RegExp(`.{${GROUP_CHARS}}`, 'g'))!.join('-');
}

/**
 * The canonical form of a typed recovery code (24 uppercase Crockford
 * characters, no separators), or null when it cannot be one. Forgives what
 * people do when retyping: any case, spaces, hyphens and dashes anywhere, and
 * O/I/L typed for 0/1/1. Never throws; idempotent.
 *
 * @example
 * ```ts
 * import { normalizeRecoveryCode } from 'twofold';
 *
 * normalizeRecoveryCode('ektr p7n2 2v3r t06a d874 8sxc'); // 'EKTRP7N22V3RT06AD8748SXC'
 * normalizeRecoveryCode('EKTR-P7N2-2V3R-TO6A-D874-8SXC'); // the same: O reads as 0
 * normalizeRecoveryCode('123456');                        // null
 * ```
 */
export function normalizeRecoveryCode(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > MAX_INPUT_CHARS) return null;
  const stripped = input.replace(SEPARATORS, '');
  // ASCII check before uppercasing: 'ß'.toUpperCase() is 'SS', 'ı' becomes 'I'.
  if (stripped.length !== CODE_CHARS || !/^[0-9A-Za-z]+$/.test(stripped)) return null;
  const canonical = stripped.toUpperCase().replace(/[OIL]/g, (c) => LOOK_ALIKES[c]!);
  for (const c of canonical) if (!ALPHABET.includes(c)) return null;
  return canonical;
}

/**
 * The lookup hash of a recovery code, as 64 lowercase hex characters.
 *
 * A code holds 120 random bits, so guessing it from its hash is as hard as
 * guessing the code: a fast SHA-256 is safe (NIST SP 800-63B, look-up
 * secrets), and the stored hash can be found by exact match instead of running
 * a slow hash against every stored code. The message is
 * `"twofold/v1/recovery-code" ‖ len(userId) ‖ userId ‖ len(code) ‖ code`
 * (lengths 32-bit big-endian, UTF-8), so a hash is useless for another user
 * or context. With `key` (a KeyRing 'recovery-code' subkey) it is
 * HMAC-SHA256 instead, so a leaked hash table cannot even be checked offline.
 * The code is normalized first: formatted and typed forms hash alike.
 *
 * @throws {MfaError} `invalid_argument` when `userId` is not a non-empty
 * string, `code` is malformed, or `key` is not a Uint8Array of 32+ bytes.
 *
 * @example
 * ```ts
 * import { generateRecoveryCodes, hashRecoveryCode } from 'twofold';
 *
 * const codes = generateRecoveryCodes();
 * const hashes = codes.map((code) => hashRecoveryCode('user-42', code)); // 64 hex characters each
 * hashRecoveryCode('user-42', codes[0]!.toLowerCase()) === hashes[0];   // true: typed forms hash alike
 * ```
 */
export function hashRecoveryCode(userId: string, code: string, key?: Uint8Array): string {
  if (typeof userId !== 'string' || userId.length === 0 || /\p{Cs}/u.test(userId)) {
    throw new MfaError('invalid_argument', 'hashRecoveryCode: userId must be a non-empty, well-formed string');
  }
  const canonical = normalizeRecoveryCode(code);
  if (canonical === null) {
    throw new MfaError('invalid_argument', 'hashRecoveryCode: code is not a well-formed recovery code');
  }
  const message = Buffer.concat([Buffer.from(HASH_LABEL), lengthPrefixed([userId, canonical])]);
  if (key === undefined) return bytesToHex(sha256(message));
  if (!(key instanceof Uint8Array) || key.length < MIN_PEPPER_BYTES) {
    throw new MfaError('invalid_argument', `hashRecoveryCode: key must be a Uint8Array of at least ${MIN_PEPPER_BYTES} bytes`);
  }
  return bytesToHex(hmac(sha256, key, message));
}


/** Input of {@link formatRecoveryCodesText}. */
export interface RecoveryCodesTextInput {
  /** The service's name, as shown in the authenticator app. */
  issuer: string;
  /** The account the codes belong to, e.g. the user's email. */
  accountName: string;
  /** The codes, in any form {@link normalizeRecoveryCode} accepts. */
  codes: readonly string[];
  /** When the codes were generated: ms since epoch or a Date. */
  createdAt: number | Date;
}

/**
 * The text file a user saves: a title with issuer and account, the creation
 * time (ISO 8601, UTC), how to use and keep the codes, then the codes
 * numbered one per line, `\n` line ends and a final newline. Control
 * characters in issuer and account become spaces, so neither can forge lines.
 *
 * @throws {MfaError} `invalid_argument` on a non-string issuer or account, a
 * malformed code, or an invalid date.
 *
 * @example
 * ```ts
 * import { formatRecoveryCodesText, generateRecoveryCodes, recoveryCodesFilename } from 'twofold';
 *
 * const text = formatRecoveryCodesText({
 *   issuer: 'Example App',
 *   accountName: 'alice@example.com',
 *   codes: generateRecoveryCodes(),
 *   createdAt: Date.now(),
 * });
 * const download = new File([text], recoveryCodesFilename('Example App'), { type: 'text/plain' });
 * ```
 */
export function formatRecoveryCodesText({ issuer, accountName, codes, createdAt }: RecoveryCodesTextInput): string {
  if (typeof issuer !== 'string' || typeof accountName !== 'string') {
    throw new MfaError('invalid_argument', 'formatRecoveryCodesText: issuer and accountName must be strings');
  }
  if (!Array.isArray(codes) || codes.length === 0) {
    throw new MfaError('invalid_argument', 'formatRecoveryCodesText: codes must be a non-empty array');
  }
  const time = createdAt instanceof Date ? createdAt.getTime() : createdAt;
  if (typeof time !== 'number' || !Number.isFinite(time) || Number.isNaN(new Date(time).getTime())) {
    throw new MfaError('invalid_argument', 'formatRecoveryCodesText: createdAt must be a valid time');
  }
  const lines = codes.map((code, i) => {
    const canonical = normalizeRecoveryCode(code);
    if (canonical === null) {
      throw new MfaError('invalid_argument', `formatRecoveryCodesText: codes[${i}] is not a well-formed recovery code`);
    }
    return `${String(i + 1).padStart(String(codes.length).length)}. ${formatCode(canonical)}`;
  });
  return [
    `${oneLine(issuer)} recovery codes for ${oneLine(accountName)}`,
    `Created ${new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
    '',
    'Each code works once. Keep them somewhere safe, like a password manager.',
    'Anyone holding them and your password can sign in as you.',
    '',
    ...lines,
    '',
  ].join('\n');
}

function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim();
}

/**
 * A safe download name for the codes file: the issuer slugified to lowercase
 * ASCII letters, digits and hyphens (accents dropped, at most 40 characters),
 * e.g. `example-app-recovery-codes.txt`; `recovery-codes.txt` when nothing is left.
 *
 * @example
 * ```ts
 * import { recoveryCodesFilename } from 'twofold';
 *
 * recoveryCodesFilename('Example App'); // 'example-app-recovery-codes.txt'
 * recoveryCodesFilename('Café Ünïcode'); // 'cafe-unicode-recovery-codes.txt'
 * ```
 */
export function recoveryCodesFilename(issuer: string): string {
  if (typeof issuer !== 'string') {
    throw new MfaError('invalid_argument', 'recoveryCodesFilename: issuer must be a string');
  }
  const slug = issuer
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
  return slug === '' ? 'recovery-codes.txt' : `${slug}-recovery-codes.txt`;
}
