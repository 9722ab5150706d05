/**
 * A minimal, strict CBOR (RFC 8949) decoder for what WebAuthn sends: COSE
 * keys, attestation objects and authenticator extension outputs. Only
 * unsigned and negative integers, byte and text strings, arrays, maps
 * (integer or text keys) and `false`/`true`/`null` are accepted; floats,
 * tags, `undefined` and indefinite lengths are refused. Every length and
 * integer must use its shortest encoding (CTAP2 canonical form), so one value
 * has one encoding. The only thing it throws is {@link CborError}.
 */

/** A decoded CBOR value. Maps keep the order they were encoded in. */
export type CborValue = number | string | Uint8Array | boolean | null | CborValue[] | CborMap;
/** A decoded CBOR map. */
export type CborMap = Map<number | string, CborValue>;

/** Why a CBOR input was refused. */
export type CborErrorReason =
  /** More than {@link MAX_CBOR_BYTES} bytes. */
  | 'too_large'
  /** The input ends inside an item. */
  | 'truncated'
  /** Bytes are left after the item. */
  | 'trailing_bytes'
  /** Arrays and maps nested deeper than {@link MAX_CBOR_DEPTH}. */
  | 'too_deep'
  /** An indefinite-length string, array or map, or a stray break byte. */
  | 'indefinite_length'
  /** A length or integer not in its shortest form. */
  | 'non_canonical'
  /** A float, tag, `undefined`, other simple value or reserved encoding. */
  | 'unsupported'
  /** A map key that is neither an integer nor a text string. */
  | 'invalid_key'
  /** The same key twice in one map. */
  | 'duplicate_key'
  /** A text string that is not valid UTF-8. */
  | 'invalid_utf8'
  /** An integer outside JavaScript's safe range. */
  | 'out_of_range';

/** The only error the decoder throws; callers turn it into a `{ ok: false }` value. */
export class CborError extends Error {
  readonly reason: CborErrorReason;

  constructor(reason: CborErrorReason) {
    super(`invalid CBOR: ${reason}`);
    this.name = 'CborError';
    this.reason = reason;
  }
}

/** Largest accepted input: far above any attestation object, bounds the work on garbage. */
export const MAX_CBOR_BYTES = 65_536;
/** Deepest accepted nesting of arrays and maps (an attestation object needs 3). */
export const MAX_CBOR_DEPTH = 16;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes exactly one CBOR item filling all of `bytes`. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const { value, end } = decodeCborPrefix(bytes, 0);
  if (end !== bytes.length) throw new CborError('trailing_bytes');
  return value;
}

/**
 * Decodes the one CBOR item starting at `offset` and returns it with the
 * offset just past it; what follows is the caller's (authenticator data
 * carries a COSE key and extensions back to back).
 */
export function decodeCborPrefix(bytes: Uint8Array, offset: number): { value: CborValue; end: number } {
  if (!(bytes instanceof Uint8Array)) throw new CborError('unsupported');
  if (bytes.length > MAX_CBOR_BYTES) throw new CborError('too_large');
  const reader = { bytes, pos: offset };
  const value = readItem(reader, 0);
  return { value, end: reader.pos };
}

interface Reader {
  bytes: Uint8Array;
  pos: number;
}

function take(reader: Reader, length: number): Uint8Array {
  if (length > reader.bytes.length - reader.pos) throw new CborError('truncated');
  // A copy, never a view: decoded values must not alias the caller's buffer.
  const out = new Uint8Array(reader.bytes.subarray(reader.pos, reader.pos + length));
  reader.pos += length;
  return out;
}

function byte(reader: Reader): number {
  const value = reader.bytes[reader.pos];
  if (value === undefined) throw new CborError('truncated');
  reader.pos += 1;
  return value;
}

/** Reads the argument of an initial byte with additional info `info` (0..27), shortest form only. */
function readArgument(reader: Reader, info: number): number {
  if (info < 24) return info;
  if (info > 27) throw new CborError(info === 31 ? 'indefinite_length' : 'unsupported');
  const width = 1 << (info - 24);
  let value = 0;
  for (let i = 0; i < width; i++) value = value * 0x100 + byte(reader);
  // 2^53 and above are not exact in a number (rounding never brings them below); nothing in WebAuthn needs them.
  if (value > Number.MAX_SAFE_INTEGER) throw new CborError('out_of_range');
  // Shortest form: each width is only for values the next smaller one cannot hold.
  const minimum = width === 1 ? 24 : 2 ** (4 * width);
  if (value < minimum) throw new CborError('non_canonical');
  return value;
}

/** A length that cannot possibly fit in what is left is refused before any allocation. */
function readLength(reader: Reader, info: number, minBytesPerUnit: number): number {
  const length = readArgument(reader, info);
  if (length * minBytesPerUnit > reader.bytes.length - reader.pos) throw new CborError('truncated');
  return length;
}

function readItem(reader: Reader, depth: number): CborValue {
  const initial = byte(reader);
  const major = initial >> 5;
  const info = initial & 0x1f;
  switch (major) {
    case 0:
      return readArgument(reader, info);
    case 1: {
      const n = readArgument(reader, info);
      if (n >= Number.MAX_SAFE_INTEGER) throw new CborError('out_of_range');
      return -1 - n;
    }
    case 2:
      return take(reader, readLength(reader, info, 1));
    case 3:
      try {
        return utf8.decode(take(reader, readLength(reader, info, 1)));
      } catch (error) {
        if (error instanceof CborError) throw error;
        throw new CborError('invalid_utf8');
      }
    case 4: {
      if (depth >= MAX_CBOR_DEPTH) throw new CborError('too_deep');
      const length = readLength(reader, info, 1);
      const items: CborValue[] = [];
      for (let i = 0; i < length; i++) items.push(readItem(reader, depth + 1));
      return items;
    }
    case 5: {
      if (depth >= MAX_CBOR_DEPTH) throw new CborError('too_deep');
      const length = readLength(reader, info, 2);
      const map: CborMap = new Map();
      for (let i = 0; i < length; i++) {
        const key = readItem(reader, depth + 1);
        if (typeof key !== 'number' && typeof key !== 'string') throw new CborError('invalid_key');
        if (map.has(key)) throw new CborError('duplicate_key');
        map.set(key, readItem(reader, depth + 1));
      }
      return map;
    }
    case 6:
      throw new CborError('unsupported');
    default:
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      throw new CborError(info === 31 ? 'indefinite_length' : 'unsupported');
  }
}
