import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CborError,
  decodeCbor,
  decodeCborPrefix,
  MAX_CBOR_BYTES,
  MAX_CBOR_DEPTH,
  type CborErrorReason,
  type CborValue,
} from '../../src/webauthn/cbor.ts';
import { cborHead, encodeCbor, type Encodable } from './cbor-encoder.ts';
import vectors from './vectors/cbor-rfc8949.json' with { type: 'json' };

type JsonValue = number | string | boolean | null | JsonValue[] | { bytes: string } | { map: [JsonValue, JsonValue][] };

/** Vector values are JSON: `{ bytes: hex }` is a byte string, `{ map: [[k, v], …] }` a map. */
function fromJson(value: JsonValue): CborValue {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    if ('bytes' in value) return Uint8Array.from(Buffer.from(value.bytes, 'hex'));
    return new Map(value.map.map(([k, v]) => [fromJson(k) as number | string, fromJson(v)]));
  }
  return value;
}

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

function reasonOf(fn: () => unknown): CborErrorReason | 'no error' {
  try {
    fn();
  } catch (error) {
    if (error instanceof CborError) return error.reason;
    throw error;
  }
  return 'no error';
}

describe('decodeCbor', () => {
  it.each(vectors.accept.map((v) => [v.hex, v] as const))('decodes %s (RFC 8949 Appendix A)', (_hex, vector) => {
    expect(decodeCbor(hex(vector.hex))).toEqual(fromJson(vector.value as JsonValue));
  });

  it.each(vectors.reject.map((v) => [v.name, v] as const))('refuses %s', (_name, vector) => {
    expect(reasonOf(() => decodeCbor(hex(vector.hex)))).toBe(vector.reason);
  });

  it(`accepts ${MAX_CBOR_DEPTH} nested arrays and refuses one more (depth bomb)`, () => {
    const nested = (depth: number) => Uint8Array.from([...Array(depth).fill(0x81), 0x00]);
    expect(reasonOf(() => decodeCbor(nested(MAX_CBOR_DEPTH)))).toBe('no error');
    expect(reasonOf(() => decodeCbor(nested(MAX_CBOR_DEPTH + 1)))).toBe('too_deep');
    expect(reasonOf(() => decodeCbor(nested(100_000)))).toBe('too_large');
    expect(reasonOf(() => decodeCbor(nested(60_000)))).toBe('too_deep');
  });

  it('refuses nested maps past the depth limit', () => {
    const bytes = Uint8Array.from([...Array(MAX_CBOR_DEPTH + 1).fill([0xa1, 0x01]).flat(), 0x00]);
    expect(reasonOf(() => decodeCbor(bytes))).toBe('too_deep');
  });

  it(`accepts ${MAX_CBOR_BYTES} bytes and refuses one more`, () => {
    const exact = Uint8Array.from([...cborHead(2, MAX_CBOR_BYTES - 3), ...new Uint8Array(MAX_CBOR_BYTES - 3)]);
    expect(exact.length).toBe(MAX_CBOR_BYTES);
    expect((decodeCbor(exact) as Uint8Array).length).toBe(MAX_CBOR_BYTES - 3);
    const over = Uint8Array.from([...cborHead(2, MAX_CBOR_BYTES - 2), ...new Uint8Array(MAX_CBOR_BYTES - 2)]);
    expect(reasonOf(() => decodeCbor(over))).toBe('too_large');
  });

  it('returns byte strings that do not alias the input, also for a Buffer', () => {
    const input = Buffer.from('4401020304', 'hex');
    const bytes = decodeCbor(input) as Uint8Array;
    input[1] = 0xff;
    expect([...bytes]).toEqual([1, 2, 3, 4]);
    expect(Buffer.isBuffer(bytes)).toBe(false);
  });

  it('never throws anything but CborError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        expect(['no error', ...REASONS]).toContain(reasonOf(() => decodeCbor(bytes)));
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws anything but CborError on mutated valid CBOR', () => {
    fc.assert(
      fc.property(encodable, fc.nat(), fc.nat(255), (value, position, byte) => {
        const bytes = encodeCbor(value);
        bytes[position % bytes.length] = byte;
        expect(['no error', ...REASONS]).toContain(reasonOf(() => decodeCbor(bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes what a canonical encoder writes', () => {
    fc.assert(
      fc.property(encodable, (value) => {
        expect(decodeCbor(encodeCbor(value))).toEqual(toDecoded(value));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decodeCborPrefix', () => {
  it('decodes the first item and says where it ends', () => {
    expect(decodeCborPrefix(hex('a10102ff00'), 0)).toEqual({ value: new Map([[1, 2]]), end: 3 });
    expect(decodeCborPrefix(hex('ffff6161'), 2)).toEqual({ value: 'a', end: 4 });
  });

  it('refuses an offset at the end', () => {
    expect(reasonOf(() => decodeCborPrefix(hex('00'), 1))).toBe('truncated');
  });
});

const REASONS: readonly CborErrorReason[] = [
  'too_large',
  'truncated',
  'trailing_bytes',
  'too_deep',
  'indefinite_length',
  'non_canonical',
  'unsupported',
  'invalid_key',
  'duplicate_key',
  'invalid_utf8',
  'out_of_range',
];

/** Values the decoder supports, with unique map keys. */
const encodable: fc.Arbitrary<Encodable> = fc.letrec<{ value: Encodable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.string(),
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -30, max: 30 }), fc.string({ maxLength: 4 })), tie('value')), {
        maxLength: 4,
        selector: ([key]) => key,
      })
      .map((entries) => new Map(entries)),
  ),
})).value;

function toDecoded(value: Encodable): CborValue {
  if (Array.isArray(value)) return value.map(toDecoded);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, toDecoded(v)]));
  return value as CborValue;
}
