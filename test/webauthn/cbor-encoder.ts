/**
 * A small canonical CBOR encoder for tests: builds COSE keys, attestation
 * objects and extension maps, and lets tests hand-craft malformed input
 * around well-formed parts. Plain objects encode as text-keyed maps.
 */
export type Encodable =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | readonly Encodable[]
  | ReadonlyMap<number | string, Encodable>
  | { readonly [key: string]: Encodable };

export function encodeCbor(value: Encodable): Uint8Array {
  const out: number[] = [];
  write(out, value);
  return Uint8Array.from(out);
}

/** The initial byte(s) of major type `major` with argument `n`, shortest form. */
export function cborHead(major: number, n: number | bigint): number[] {
  const value = BigInt(n);
  const m = major << 5;
  if (value < 24n) return [m | Number(value)];
  if (value < 0x100n) return [m | 24, Number(value)];
  if (value < 0x1_0000n) return [m | 25, ...bytesOf(value, 2)];
  if (value < 0x1_0000_0000n) return [m | 26, ...bytesOf(value, 4)];
  return [m | 27, ...bytesOf(value, 8)];
}

function bytesOf(value: bigint, width: number): number[] {
  const out: number[] = [];
  for (let i = width - 1; i >= 0; i--) out.push(Number((value >> BigInt(8 * i)) & 0xffn));
  return out;
}

function write(out: number[], value: Encodable): void {
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = BigInt(value);
    out.push(...(n >= 0n ? cborHead(0, n) : cborHead(1, -1n - n)));
  } else if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value);
    out.push(...cborHead(3, bytes.length), ...bytes);
  } else if (value instanceof Uint8Array) {
    out.push(...cborHead(2, value.length), ...value);
  } else if (typeof value === 'boolean') {
    out.push(value ? 0xf5 : 0xf4);
  } else if (value === null) {
    out.push(0xf6);
  } else if (Array.isArray(value)) {
    out.push(...cborHead(4, value.length));
    for (const item of value) write(out, item);
  } else {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
    out.push(...cborHead(5, entries.length));
    for (const [key, item] of entries) {
      write(out, key);
      write(out, item as Encodable);
    }
  }
}
