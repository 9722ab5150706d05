import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { MfaError } from './errors.ts';
import { HmacSha256 } from './hmac-sha256.ts';
import { checkWellFormed, lengthPrefixed } from './length-prefixed.ts';

/** Minimum root key length: 256 bits, the AES-256 key size. */
const MIN_KEY_BYTES = 32;
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Far above any sealed TOTP secret or code set; bounds the work on garbage input. */
const MAX_SEALED_CHARS = 65_536;
const SEALED_FORMAT = /^v1\.([0-9a-f]{8})\.([A-Za-z0-9_-]+)$/;
const DEFAULT_PURPOSE = 'default';
/** Node's options for every AES-GCM cipher here (one object: Node only reads it). */
const GCM_OPTIONS = { authTagLength: TAG_BYTES };

/** An HMAC key as the service's signers take it: the ring's `KeyObject`s, or raw bytes. */
export type HmacKey = KeyObject | Uint8Array;

/** Purposes of the HMAC subkeys a {@link KeyRing} hands out. */
export type MacPurpose = 'challenge' | 'recovery-code' | 'email-token' | 'step-up' | 'webauthn-challenge' | 'device-token';
const MAC_PURPOSES: readonly MacPurpose[] = ['challenge', 'recovery-code', 'email-token', 'step-up', 'webauthn-challenge', 'device-token'];

/**
 * Decodes a root key and requires at least 32 bytes, so every derived key
 * has full AES-256/HMAC-SHA256 strength. A key is one of:
 * - a `Uint8Array` (copied);
 * - `'hex:'` and an even number of hex digits, either case;
 * - `'base64:'` and base64 in one alphabet, standard (`+/`) or URL-safe
 *   (`-_`), padding optional but correct if present, spelled canonically
 *   (no stray bits in the last character).
 * Surrounding whitespace (a key file's newline) is ignored. The prefix says
 * how to read the key, so a mistyped one is refused rather than read as
 * some other key.
 *
 * An unprefixed string still works in 0.x, read as 0.1 read it, with a
 * `TwofoldKeyFormatWarning` (once per process, naming the option and the
 * prefix to add, never the key), except where 0.1 guessed:
 * - only hex digits, an even number of them: hex (`'11'.repeat(32)`). It is
 *   base64 too, but a random base64 key is all hex digits with probability
 *   below 2^-60, so this is no guess;
 * - only hex digits, an odd number: refused. A hex key with a digit missing
 *   or extra, which 0.1 read as base64 about one time in four;
 * - only letters (no digit, `+/-_` or `=`): refused, it looks like a
 *   passphrase (0.1 read 44 letters as a 33-byte key). A random 32-byte
 *   key in unpadded base64 is all letters about once in 7,500 (a padded
 *   one never is); such a key works as `'base64:…'`;
 * - any other canonical base64 or base64url, padding optional: base64.
 *
 * `optionName` is the name errors and the warning use; the key never
 * appears in them.
 *
 * @throws {MfaError} `weak_secret_key` when it decodes to fewer than 32
 * bytes, `invalid_option` when it is neither bytes nor a string of one of
 * these forms (an unknown prefix, a malformed key after its prefix, an
 * unprefixed string 0.1 would have guessed at).
 */
export function parseSecretKey(key: Uint8Array | string, optionName = 'secretKey'): Uint8Array {
  let bytes: Uint8Array;
  let legacy: KeyPrefix | null = null;
  if (key instanceof Uint8Array) {
    bytes = Uint8Array.from(key);
  } else if (typeof key === 'string') {
    const text = key.trim();
    const prefixed = /^([^:]*):/.exec(text);
    if (prefixed !== null) {
      bytes = decodePrefixed(prefixed[1]!, text.slice(prefixed[0].length), optionName);
    } else {
      legacy = legacyFormOf(text, optionName);
      bytes = legacy === 'hex:' ? decodeHex(text)! : decodeBase64(text)!;
    }
  } else {
    throw new MfaError('invalid_option', `${optionName} must be a Uint8Array or a 'hex:…' or 'base64:…' string`);
  }
  if (bytes.length < MIN_KEY_BYTES) {
    throw new MfaError(
      'weak_secret_key',
      `${optionName} must be at least ${MIN_KEY_BYTES} random bytes, it decodes to ${bytes.length}`,
    );
  }
  if (legacy !== null) warnUnprefixed(optionName, legacy);
  return bytes;
}

type KeyPrefix = 'hex:' | 'base64:';

function decodePrefixed(prefix: string, body: string, optionName: string): Uint8Array {
  if (prefix === 'hex') {
    return decodeHex(body) ?? invalidKey(`${optionName} after 'hex:' must be an even number of hex digits`);
  }
  if (prefix === 'base64') {
    return decodeBase64(body) ?? invalidKey(`${optionName} after 'base64:' must be canonical base64 or base64url`);
  }
  return invalidKey(`${optionName} must start with 'hex:' or 'base64:' (or be a Uint8Array)`);
}

/** How 0.x reads an unprefixed key string, or a refusal where 0.1 guessed (see {@link parseSecretKey}). */
function legacyFormOf(text: string, optionName: string): KeyPrefix {
  const fix = `write it as 'hex:…' or 'base64:…' followed by the key`;
  if (/^[0-9a-fA-F]*$/.test(text)) {
    if (text.length % 2 === 0) return 'hex:';
    invalidKey(`${optionName} is an odd number of hex digits (one missing or extra?): fix it and ${fix}`);
  }
  if (decodeBase64(text) === null) invalidKey(`${optionName} is neither hex nor base64 (a key is 'hex:…', 'base64:…' or a Uint8Array)`);
  if (/^[A-Za-z]+$/.test(text)) {
    invalidKey(`${optionName} is only letters, like a passphrase rather than a random key: generate one (openssl rand -base64 32), or if it is base64, ${fix}`);
  }
  return 'base64:';
}

function decodeHex(text: string): Uint8Array | null {
  return /^(?:[0-9a-fA-F]{2})*$/.test(text) ? Uint8Array.from(Buffer.from(text, 'hex')) : null;
}

/** Canonical base64 or base64url (one alphabet, padding optional): a length of 4n+1 or stray bits in the last character decode to null. */
function decodeBase64(text: string): Uint8Array | null {
  const unpadded = text.length % 4 === 0 ? text.replace(/={1,2}$/, '') : text;
  if (!/^[A-Za-z0-9+/]*$/.test(unpadded) && !/^[A-Za-z0-9_-]*$/.test(unpadded)) return null;
  const bytes = Buffer.from(unpadded, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== unpadded.replace(/-/g, '+').replace(/_/g, '/')) return null;
  return Uint8Array.from(bytes);
}

function invalidKey(message: string): never {
  throw new MfaError('invalid_option', message);
}

let warnedUnprefixed = false;

/** The one-time deprecation warning for an unprefixed key string: names the option and the prefix, never the key. */
function warnUnprefixed(optionName: string, prefix: KeyPrefix): void {
  if (warnedUnprefixed) return;
  warnedUnprefixed = true;
  globalThis.process?.emitWarning?.(
    `twofold: ${optionName} is a key string without a prefix; write it as '${prefix}' followed by the same text. ` +
      'Unprefixed keys are read by guessing and will be refused in 1.0 (shown once, for the first such key).',
    { type: 'TwofoldKeyFormatWarning', code: 'TWOFOLD_UNPREFIXED_KEY' },
  );
}

/**
 * The keys derived from `secretKey` (current) and `previousSecretKeys`
 * (rotation): seals secrets at rest and hands out HMAC subkeys. Safe to log:
 * `JSON.stringify` and `util.inspect` show key ids only, and no key byte is
 * reachable through a property.
 */
export interface KeyRing {
  /**
   * Seals small plaintext with AES-256-GCM under the current key, bound to
   * `userId` and `purpose` (associated data), so a sealed value copied to
   * another user or field does not open (`purpose` defaults to 'default').
   * A fresh random 96-bit IV per call keeps IV collisions negligible well
   * past any realistic number of seals (NIST SP 800-38D allows 2^32 per key).
   * Returns `v1.<keyId>.<base64url(iv ‖ ciphertext ‖ tag)>`.
   */
  seal(plaintext: Uint8Array | string, userId: string, purpose?: string): string;
  /**
   * Opens a sealed value with whichever ring key its key id names.
   * @throws {MfaError} `seal_invalid` on any tampering, truncation, wrong user,
   * wrong purpose, unknown key id, or a value that is not a sealed string.
   */
  open(sealed: string, userId: string, purpose?: string): Uint8Array;
  /** {@link KeyRing.open}, decoded as UTF-8 (`seal_invalid` if it is not UTF-8). */
  openText(sealed: string, userId: string, purpose?: string): string;
  /** Key id of the current key. */
  readonly currentKeyId: string;
  /**
   * Key id in a sealed value's header, known to this ring or not, or null when
   * it is not a sealed value. Differs from `currentKeyId`: re-seal it.
   */
  keyIdOf(sealed: string): string | null;
  /**
   * HMAC-SHA256 subkeys for `purpose`: the current key's first, then each
   * previous key's. Sign with the first, accept a match under any. Fresh
   * copies on every call.
   */
  macKeys(purpose: MacPurpose): readonly Uint8Array[];
  /**
   * The same HMAC subkeys as immutable `KeyObject`s (for `createHmac`), made
   * once per ring: the hot paths sign and verify without copying key bytes.
   */
  hmacKeys(purpose: MacPurpose): readonly KeyObject[];
  /** The key ids, current first: all that logging a ring shows. */
  toJSON(): { keyIds: string[] };
}

/** Options of {@link createKeyRing}. */
export interface KeyRingOptions {
  /** Current root key, at least 32 random bytes (raw, hex or base64). */
  secretKey: Uint8Array | string;
  /** Retired root keys, still accepted to open and verify during a rotation. */
  previousSecretKeys?: readonly (Uint8Array | string)[];
}

/**
 * Builds a {@link KeyRing}. Each root key yields, by HKDF-SHA256 under distinct
 * `twofold/v1/...` labels, an AES-256 sealing key, one HMAC key per
 * {@link MacPurpose}, and a 32-bit key id: independent outputs, so the id
 * reveals nothing about any subkey, and no subkey serves two purposes.
 *
 * @throws {MfaError} `weak_secret_key` or `invalid_option` as {@link parseSecretKey}.
 */
export function createKeyRing(options: KeyRingOptions): KeyRing {
  if (typeof options !== 'object' || options === null) {
    throw new MfaError('invalid_option', 'createKeyRing: options must be an object');
  }
  const { secretKey, previousSecretKeys = [] } = options;
  if (!Array.isArray(previousSecretKeys)) {
    throw new MfaError('invalid_option', 'previousSecretKeys must be an array');
  }
  const roots = [
    parseSecretKey(secretKey, 'secretKey'),
    ...previousSecretKeys.map((key, i) => parseSecretKey(key, `previousSecretKeys[${i}]`)),
  ];
  return new SealingKeyRing(roots.map(deriveKeys));
}

interface DerivedKeys {
  keyId: string;
  sealKey: KeyObject;
  /** `v1 ‖ keyId`, length-prefixed: how the associated data of this key's seals starts. */
  aadHead: Buffer;
  macKeys: Record<MacPurpose, Uint8Array>;
  hmacKeys: Record<MacPurpose, KeyObject>;
}

function deriveKeys(root: Uint8Array): DerivedKeys {
  const derive = (label: string, length: number) =>
    hkdf(sha256, root, undefined, utf8ToBytes(`twofold/v1/${label}`), length);
  const macKeys = {} as Record<MacPurpose, Uint8Array>;
  const hmacKeys = {} as Record<MacPurpose, KeyObject>;
  for (const purpose of MAC_PURPOSES) {
    macKeys[purpose] = derive(purpose, 32);
    hmacKeys[purpose] = createSecretKey(macKeys[purpose]);
    ringMacKeys.set(hmacKeys[purpose], macKeys[purpose]);
  }
  const keyId = bytesToHex(derive('key-id', 4));
  return { keyId, sealKey: createSecretKey(derive('seal', 32)), aadHead: lengthPrefixed([VERSION, keyId]), macKeys, hmacKeys };
}

/** The bytes of each ring's HMAC subkey `KeyObject`s: the arrays `DerivedKeys.macKeys` holds (no copy), never handed out. */
const ringMacKeys = new WeakMap<KeyObject, Uint8Array>();
/**
 * HMAC-SHA256 states keyed with a ring subkey (the ipad and opad blocks
 * already compressed), made on first use. Weak: an entry lives as long as
 * its ring, so there are at most 6 per root key of the rings in use.
 */
const ringMacStates = new WeakMap<KeyObject, HmacSha256>();
/**
 * Up to this many bytes, a MAC from a precomputed state in JavaScript
 * ({@link HmacSha256}) is faster than a native `createHmac`: about 0.55 µs
 * against 2.3 µs for a 55-byte challenge, 0.8 µs for 90 bytes. Each
 * further 64 bytes add about 0.25 µs in JavaScript and little natively, so
 * from about 600 bytes on native is as fast (measured on Node 20, x64).
 */
const JS_HMAC_MAX_BYTES = 512;

/**
 * Writes HMAC-SHA256(key, data) to the first 32 bytes of `out`. Under one
 * of a ring's own subkeys (`KeyRing.hmacKeys`) and for short `data`, from a
 * cached key state (no key setup, no allocation); otherwise `createHmac`.
 */
export function hmacSha256Into(key: HmacKey, data: Uint8Array, out: Uint8Array): void {
  if (data.length <= JS_HMAC_MAX_BYTES && !(key instanceof Uint8Array)) {
    let state = ringMacStates.get(key);
    if (state === undefined) {
      const bytes = ringMacKeys.get(key);
      if (bytes !== undefined) {
        state = new HmacSha256(bytes);
        ringMacStates.set(key, state);
      }
    }
    if (state !== undefined) {
      // Throws before computing anything on data or out that are not bytes.
      state.macInto(data, out);
      return;
    }
  }
  out.set(createHmac('sha256', key).update(data).digest());
}

class SealingKeyRing implements KeyRing {
  readonly #keys: readonly DerivedKeys[];
  readonly #hmacKeys = new Map<MacPurpose, readonly KeyObject[]>();
  /** Parsed sealed values (public parts only: key id, IV, ciphertext, tag), by their text. */
  readonly #parsed = new Map<string, ParsedSealed>();
  /** The value `#parse` gave last, and its text (public parts only, as in `#parsed`). */
  #lastSealed: string | null = null;
  #lastParsed: ParsedSealed | null = null;
  readonly currentKeyId: string;

  constructor(keys: DerivedKeys[]) {
    this.#keys = keys;
    this.currentKeyId = keys[0]!.keyId;
  }

  /**
   * `parseSealed`, remembered: a login opens the same sealed secret each
   * time, and parsing and re-validating its encoding cost as much as the
   * decryption. Only what is stored in the record anyway is kept (never a
   * plaintext); the cache is bounded and simply emptied when full.
   */
  #parse(sealed: string): ParsedSealed | null {
    // A proof opens a secret and then asks its key id (is it to move to the current key?): the last one is at hand.
    if (sealed === this.#lastSealed) return this.#lastParsed;
    let cached = this.#parsed.get(sealed);
    if (cached === undefined) {
      const parsed = this.#parseNew(sealed);
      if (parsed === null) return null;
      cached = parsed;
    }
    this.#lastSealed = sealed;
    this.#lastParsed = cached;
    return cached;
  }

  #parseNew(sealed: string): ParsedSealed | null {
    const parsed = parseSealed(sealed);
    if (parsed === null || parsed.body.length < IV_BYTES + TAG_BYTES) return null;
    const { keyId, body } = parsed;
    const entry: ParsedSealed = {
      keyId,
      keys: this.#keys.filter((key) => key.keyId === keyId),
      iv: body.subarray(0, IV_BYTES),
      ciphertext: body.subarray(IV_BYTES, body.length - TAG_BYTES),
      tag: body.subarray(body.length - TAG_BYTES),
    };
    if (this.#parsed.size >= PARSED_CACHE_SIZE) this.#parsed.clear();
    this.#parsed.set(sealed, entry);
    return entry;
  }

  seal(plaintext: Uint8Array | string, userId: string, purpose: string = DEFAULT_PURPOSE): string {
    let data: Uint8Array;
    if (typeof plaintext === 'string') data = utf8(plaintext, 'plaintext');
    else if (plaintext instanceof Uint8Array) data = plaintext;
    else throw new MfaError('invalid_argument', 'seal: plaintext must be a string or a Uint8Array');
    try {
      const binding = checkBinding(userId, purpose);
      const current = this.#keys[0]!;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.sealKey, iv, GCM_OPTIONS);
      cipher.setAAD(associatedData(current.aadHead, binding));
      const body = Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}.${current.keyId}.${body.toString('base64url')}`;
    } finally {
      // Our own UTF-8 copy of a text plaintext; the caller's bytes are theirs.
      if (data !== plaintext) data.fill(0);
    }
  }

  open(sealed: string, userId: string, purpose: string = DEFAULT_PURPOSE): Uint8Array {
    const binding = checkBinding(userId, purpose);
    const parsed = this.#parse(sealed);
    if (parsed === null || parsed.keys.length === 0) throw sealInvalid();
    const { keys, iv, ciphertext, tag } = parsed;
    // The associated data names the key id, not the key: one for every key with this id.
    const aad = associatedData(keys[0]!.aadHead, binding);
    // Two root keys may share a 32-bit id; try each, the tag tells them apart.
    for (const key of keys) {
      const plaintext = decrypt(key.sealKey, iv, aad, ciphertext, tag);
      if (plaintext !== null) return plaintext;
    }
    throw sealInvalid();
  }

  openText(sealed: string, userId: string, purpose: string = DEFAULT_PURPOSE): string {
    const bytes = this.open(sealed, userId, purpose);
    try {
      return UTF8_DECODER.decode(bytes);
    } catch {
      throw sealInvalid();
    } finally {
      bytes.fill(0);
    }
  }

  keyIdOf(sealed: string): string | null {
    return (typeof sealed === 'string' ? this.#parse(sealed)?.keyId : null) ?? null;
  }

  hmacKeys(purpose: MacPurpose): readonly KeyObject[] {
    let keys = this.#hmacKeys.get(purpose);
    if (keys === undefined) {
      if (!MAC_PURPOSES.includes(purpose)) {
        throw new MfaError('invalid_argument', `hmacKeys: purpose must be one of ${MAC_PURPOSES.join(', ')}`);
      }
      keys = Object.freeze(this.#keys.map((key) => key.hmacKeys[purpose]));
      this.#hmacKeys.set(purpose, keys);
    }
    return keys;
  }

  macKeys(purpose: MacPurpose): readonly Uint8Array[] {
    if (!MAC_PURPOSES.includes(purpose)) {
      throw new MfaError('invalid_argument', `macKeys: purpose must be one of ${MAC_PURPOSES.join(', ')}`);
    }
    return this.#keys.map((key) => Uint8Array.from(key.macKeys[purpose]));
  }

  toJSON(): { keyIds: string[] } {
    return { keyIds: this.#keys.map((key) => key.keyId) };
  }

  [inspect.custom](): string {
    return `KeyRing ${inspect(this.toJSON())}`;
  }
}

/** The public parts of a sealed value, and the ring's keys with its key id. */
interface ParsedSealed {
  keyId: string;
  keys: readonly DerivedKeys[];
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** Sealed values whose parse is remembered per key ring (a few MB at most). */
const PARSED_CACHE_SIZE = 10_000;

function parseSealed(sealed: unknown): { keyId: string; body: Buffer } | null {
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_CHARS) return null;
  const match = SEALED_FORMAT.exec(sealed);
  if (match === null) return null;
  const [, keyId, encoded] = match as unknown as [string, string, string];
  const body = Buffer.from(encoded, 'base64url');
  // Canonical encoding only, so one sealed value has exactly one spelling.
  if (body.toString('base64url') !== encoded) return null;
  return { keyId, body };
}

/** The part of the associated data a caller chooses, checked: `userId` and its UTF-8 length, `purpose` length-prefixed. */
interface Binding {
  userId: string;
  userIdBytes: number;
  purpose: Buffer;
}

/**
 * `purpose`, length-prefixed, for each short purpose seen (a few constants
 * in practice): public, bounded in count and size, and simply emptied when
 * full.
 */
const purposeFields = new Map<string, Buffer>();
const PURPOSE_CACHE_SIZE = 64;
const PURPOSE_CACHE_MAX_CHARS = 64;

/** @throws {MfaError} `invalid_argument` for an empty or non-string userId, a non-string purpose, or a lone surrogate in either. */
function checkBinding(userId: unknown, purpose: unknown): Binding {
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new MfaError('invalid_argument', 'userId must be a non-empty string');
  }
  if (typeof purpose !== 'string') {
    throw new MfaError('invalid_argument', 'purpose must be a string');
  }
  checkWellFormed(userId);
  let field = purposeFields.get(purpose);
  if (field === undefined) {
    // Checks `purpose` is well-formed, so a cached one is.
    field = lengthPrefixed([purpose]);
    if (purpose.length <= PURPOSE_CACHE_MAX_CHARS) {
      if (purposeFields.size >= PURPOSE_CACHE_SIZE) purposeFields.clear();
      purposeFields.set(purpose, field);
    }
  }
  return { userId, userIdBytes: Buffer.byteLength(userId, 'utf8'), purpose: field };
}

/**
 * `v1 ‖ keyId ‖ userId ‖ purpose`, each length-prefixed (`head` the first
 * two, per key), so no two different (userId, purpose) pairs share
 * associated data: ("ab", "c") ≠ ("a", "bc"). Public bytes, written in one
 * buffer: the same bytes as `lengthPrefixed([VERSION, keyId, userId, purpose])`.
 */
function associatedData(head: Uint8Array, binding: Binding): Buffer {
  const { userId, userIdBytes, purpose } = binding;
  const aad = Buffer.allocUnsafe(head.length + 4 + userIdBytes + purpose.length);
  aad.set(head, 0);
  let offset = aad.writeUInt32BE(userIdBytes, head.length);
  // Well-formed (checked), so it writes exactly userIdBytes bytes.
  offset += aad.write(userId, offset, userIdBytes, 'utf8');
  aad.set(purpose, offset);
  return aad;
}

/**
 * AES-256-GCM decryption, or null when the tag does not verify (the
 * unauthenticated output is wiped). The plaintext comes back in memory
 * nothing else holds, with no copy left behind.
 */
function decrypt(key: KeyObject, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array | null {
  const decipher = createDecipheriv('aes-256-gcm', key, iv, GCM_OPTIONS);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  let head: Buffer | undefined;
  let rest: Buffer;
  try {
    head = decipher.update(ciphertext);
    rest = decipher.final();
  } catch {
    // Authentication failed under this key.
    head?.fill(0);
    return null;
  }
  if (rest.length === 0) return ownBytes(head);
  // GCM's final() gives nothing more; were it otherwise, join the two exactly and wipe both.
  const joined = new Uint8Array(head.length + rest.length);
  joined.set(head, 0);
  joined.set(rest, head.length);
  head.fill(0);
  rest.fill(0);
  return joined;
}

/**
 * `bytes` as a plain `Uint8Array` over memory no one else holds: a view of
 * its ArrayBuffer when the buffer is all of it (Node gives cipher output an
 * ArrayBuffer of its own), else an exact copy, the original wiped (a small
 * Buffer may sit in Node's shared pool).
 */
function ownBytes(bytes: Buffer): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength === bytes.length) {
    return new Uint8Array(bytes.buffer, 0, bytes.length);
  }
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  bytes.fill(0);
  return copy;
}

const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_ENCODER = new TextEncoder();

/**
 * UTF-8 bytes of a well-formed plaintext, in an array of their own (not
 * Node's shared pool) that the caller wipes: a lone surrogate would become
 * U+FFFD and two plaintexts would seal alike.
 */
function utf8(text: string, name: string): Uint8Array {
  if (!text.isWellFormed()) throw new MfaError('invalid_argument', `${name} must be well-formed Unicode`);
  const bytes = new Uint8Array(Buffer.byteLength(text, 'utf8'));
  UTF8_ENCODER.encodeInto(text, bytes);
  return bytes;
}

function sealInvalid(): MfaError {
  return new MfaError('seal_invalid', 'sealed value is invalid, tampered with, or not for this user, purpose or key ring');
}
