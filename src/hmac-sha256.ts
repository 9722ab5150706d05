/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) under one key of at most one block,
 * in plain 32-bit integer arithmetic: the key's inner and outer pads are
 * compressed once per key, then a message of n bytes costs
 * ⌈(n + 9) / 64⌉ + 1 compressions and allocates nothing. For the short
 * inputs the service MACs under a ring's subkeys (login challenges of 55
 * to 90 bytes) this is several times faster than node:crypto's
 * `createHmac`, which spends most of its time creating objects, and than
 * @noble/hashes, whose generic streaming classes cost more per call.
 *
 * The compression keeps the working variables and a 16-word rolling
 * message schedule in local int32 variables: 4 passes of 16 unrolled
 * rounds, the eight working variables changing roles from one round to the
 * next instead of being shifted. Words go in and out through `Int32Array`s,
 * never as function arguments, which V8 would box.
 *
 * Constant time as far as JavaScript allows: no branch and no memory index
 * depends on the key or the message, only on their lengths and on the
 * round number (the K table); the rest is additions, rotations and bitwise
 * operations on int32 values. The shared scratch (the block being
 * compressed, the inner hash's chaining state) holds nothing of the key or
 * the message once a call returns; the key's pad states stay in the
 * instance until {@link HmacSha256.wipe}. (The compression's local
 * variables, like any JavaScript number, cannot be wiped.)
 *
 * Checked against RFC 4231 and against node:crypto on random keys and
 * messages of every length around the block boundaries in
 * test/hmac-sha256.test.ts.
 */

/** SHA-256 block size in bytes: the longest key {@link HmacSha256} takes (HMAC hashes longer keys first). */
export const SHA256_BLOCK_BYTES = 64;
/** SHA-256 digest size in bytes: what {@link HmacSha256.macInto} writes. */
export const SHA256_BYTES = 32;

/** The round constants (FIPS 180-4 §4.2.2), read by round number only. */
const K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);
/** The IV (FIPS 180-4 §5.3.3), as a state to compress from. */
const IV = Int32Array.of(0x6a09e667, 0xbb67ae85 | 0, 0x3c6ef372, 0xa54ff53a | 0, 0x510e527f, 0x9b05688c | 0, 0x1f83d9ab, 0x5be0cd19);
/** The 16 words of the block being compressed (JavaScript runs one call at a time). Between calls: zeros and padding constants. */
const W = new Int32Array(16);
/** The chaining state of the inner hash while a message is hashed. Zero between calls. */
const H = new Int32Array(8);

/**
 * One SHA-256 compression (FIPS 180-4 §6.2.2) of the block in `W` into the
 * state `s[at..at+7]`, written to `out[to..to+7]` (which may be `s`: the
 * state is read first).
 */
function compress(s: Int32Array, at: number, out: Int32Array, to: number): void {
  const s0 = s[at]!;
  const s1 = s[at + 1]!;
  const s2 = s[at + 2]!;
  const s3 = s[at + 3]!;
  const s4 = s[at + 4]!;
  const s5 = s[at + 5]!;
  const s6 = s[at + 6]!;
  const s7 = s[at + 7]!;
  let a = s0;
  let b = s1;
  let c = s2;
  let d = s3;
  let e = s4;
  let f = s5;
  let g = s6;
  let h = s7;
  let w0 = W[0]!;
  let w1 = W[1]!;
  let w2 = W[2]!;
  let w3 = W[3]!;
  let w4 = W[4]!;
  let w5 = W[5]!;
  let w6 = W[6]!;
  let w7 = W[7]!;
  let w8 = W[8]!;
  let w9 = W[9]!;
  let w10 = W[10]!;
  let w11 = W[11]!;
  let w12 = W[12]!;
  let w13 = W[13]!;
  let w14 = W[14]!;
  let w15 = W[15]!;
  let x = 0;
  // Rounds t..t+15. Round t: x = h + Σ1(e) + Ch(e, f, g) + K[t] + w[t]; d += x; h = x + Σ0(a) + Maj(a, b, c);
  // the next round names (h, a, b, c, d, e, f, g) as (a, b, c, d, e, f, g, h). Ch is g ^ (e & (f ^ g)), Maj (a & b) | (c & (a | b)).
  for (let t = 0; t < 64; t += 16) {
    if (t > 0) {
      // The schedule for rounds t..t+15: w[i] += σ0(w[i+1]) + w[i+9] + σ1(w[i+14]), indices mod 16.
      w0 = (w0 + (((w1 >>> 7) | (w1 << 25)) ^ ((w1 >>> 18) | (w1 << 14)) ^ (w1 >>> 3)) + w9 + (((w14 >>> 17) | (w14 << 15)) ^ ((w14 >>> 19) | (w14 << 13)) ^ (w14 >>> 10))) | 0;
      w1 = (w1 + (((w2 >>> 7) | (w2 << 25)) ^ ((w2 >>> 18) | (w2 << 14)) ^ (w2 >>> 3)) + w10 + (((w15 >>> 17) | (w15 << 15)) ^ ((w15 >>> 19) | (w15 << 13)) ^ (w15 >>> 10))) | 0;
      w2 = (w2 + (((w3 >>> 7) | (w3 << 25)) ^ ((w3 >>> 18) | (w3 << 14)) ^ (w3 >>> 3)) + w11 + (((w0 >>> 17) | (w0 << 15)) ^ ((w0 >>> 19) | (w0 << 13)) ^ (w0 >>> 10))) | 0;
      w3 = (w3 + (((w4 >>> 7) | (w4 << 25)) ^ ((w4 >>> 18) | (w4 << 14)) ^ (w4 >>> 3)) + w12 + (((w1 >>> 17) | (w1 << 15)) ^ ((w1 >>> 19) | (w1 << 13)) ^ (w1 >>> 10))) | 0;
      w4 = (w4 + (((w5 >>> 7) | (w5 << 25)) ^ ((w5 >>> 18) | (w5 << 14)) ^ (w5 >>> 3)) + w13 + (((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10))) | 0;
      w5 = (w5 + (((w6 >>> 7) | (w6 << 25)) ^ ((w6 >>> 18) | (w6 << 14)) ^ (w6 >>> 3)) + w14 + (((w3 >>> 17) | (w3 << 15)) ^ ((w3 >>> 19) | (w3 << 13)) ^ (w3 >>> 10))) | 0;
      w6 = (w6 + (((w7 >>> 7) | (w7 << 25)) ^ ((w7 >>> 18) | (w7 << 14)) ^ (w7 >>> 3)) + w15 + (((w4 >>> 17) | (w4 << 15)) ^ ((w4 >>> 19) | (w4 << 13)) ^ (w4 >>> 10))) | 0;
      w7 = (w7 + (((w8 >>> 7) | (w8 << 25)) ^ ((w8 >>> 18) | (w8 << 14)) ^ (w8 >>> 3)) + w0 + (((w5 >>> 17) | (w5 << 15)) ^ ((w5 >>> 19) | (w5 << 13)) ^ (w5 >>> 10))) | 0;
      w8 = (w8 + (((w9 >>> 7) | (w9 << 25)) ^ ((w9 >>> 18) | (w9 << 14)) ^ (w9 >>> 3)) + w1 + (((w6 >>> 17) | (w6 << 15)) ^ ((w6 >>> 19) | (w6 << 13)) ^ (w6 >>> 10))) | 0;
      w9 = (w9 + (((w10 >>> 7) | (w10 << 25)) ^ ((w10 >>> 18) | (w10 << 14)) ^ (w10 >>> 3)) + w2 + (((w7 >>> 17) | (w7 << 15)) ^ ((w7 >>> 19) | (w7 << 13)) ^ (w7 >>> 10))) | 0;
      w10 = (w10 + (((w11 >>> 7) | (w11 << 25)) ^ ((w11 >>> 18) | (w11 << 14)) ^ (w11 >>> 3)) + w3 + (((w8 >>> 17) | (w8 << 15)) ^ ((w8 >>> 19) | (w8 << 13)) ^ (w8 >>> 10))) | 0;
      w11 = (w11 + (((w12 >>> 7) | (w12 << 25)) ^ ((w12 >>> 18) | (w12 << 14)) ^ (w12 >>> 3)) + w4 + (((w9 >>> 17) | (w9 << 15)) ^ ((w9 >>> 19) | (w9 << 13)) ^ (w9 >>> 10))) | 0;
      w12 = (w12 + (((w13 >>> 7) | (w13 << 25)) ^ ((w13 >>> 18) | (w13 << 14)) ^ (w13 >>> 3)) + w5 + (((w10 >>> 17) | (w10 << 15)) ^ ((w10 >>> 19) | (w10 << 13)) ^ (w10 >>> 10))) | 0;
      w13 = (w13 + (((w14 >>> 7) | (w14 << 25)) ^ ((w14 >>> 18) | (w14 << 14)) ^ (w14 >>> 3)) + w6 + (((w11 >>> 17) | (w11 << 15)) ^ ((w11 >>> 19) | (w11 << 13)) ^ (w11 >>> 10))) | 0;
      w14 = (w14 + (((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3)) + w7 + (((w12 >>> 17) | (w12 << 15)) ^ ((w12 >>> 19) | (w12 << 13)) ^ (w12 >>> 10))) | 0;
      w15 = (w15 + (((w0 >>> 7) | (w0 << 25)) ^ ((w0 >>> 18) | (w0 << 14)) ^ (w0 >>> 3)) + w8 + (((w13 >>> 17) | (w13 << 15)) ^ ((w13 >>> 19) | (w13 << 13)) ^ (w13 >>> 10))) | 0;
    }
    x = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[t]! + w0) | 0;
    d = (d + x) | 0;
    h = (x + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    x = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[t + 1]! + w1) | 0;
    c = (c + x) | 0;
    g = (x + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) | (b & (h | a)))) | 0;
    x = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[t + 2]! + w2) | 0;
    b = (b + x) | 0;
    f = (x + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) | (a & (g | h)))) | 0;
    x = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + (d ^ (b & (c ^ d))) + K[t + 3]! + w3) | 0;
    a = (a + x) | 0;
    e = (x + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) | (h & (f | g)))) | 0;
    x = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (b ^ c))) + K[t + 4]! + w4) | 0;
    h = (h + x) | 0;
    d = (x + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) | (g & (e | f)))) | 0;
    x = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (b ^ (h & (a ^ b))) + K[t + 5]! + w5) | 0;
    g = (g + x) | 0;
    c = (x + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) | (f & (d | e)))) | 0;
    x = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[t + 6]! + w6) | 0;
    f = (f + x) | 0;
    b = (x + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) | (e & (c | d)))) | 0;
    x = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[t + 7]! + w7) | 0;
    e = (e + x) | 0;
    a = (x + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) | (d & (b | c)))) | 0;
    x = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[t + 8]! + w8) | 0;
    d = (d + x) | 0;
    h = (x + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    x = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[t + 9]! + w9) | 0;
    c = (c + x) | 0;
    g = (x + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) | (b & (h | a)))) | 0;
    x = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[t + 10]! + w10) | 0;
    b = (b + x) | 0;
    f = (x + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) | (a & (g | h)))) | 0;
    x = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + (d ^ (b & (c ^ d))) + K[t + 11]! + w11) | 0;
    a = (a + x) | 0;
    e = (x + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) | (h & (f | g)))) | 0;
    x = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (b ^ c))) + K[t + 12]! + w12) | 0;
    h = (h + x) | 0;
    d = (x + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) | (g & (e | f)))) | 0;
    x = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (b ^ (h & (a ^ b))) + K[t + 13]! + w13) | 0;
    g = (g + x) | 0;
    c = (x + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) | (f & (d | e)))) | 0;
    x = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[t + 14]! + w14) | 0;
    f = (f + x) | 0;
    b = (x + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) | (e & (c | d)))) | 0;
    x = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[t + 15]! + w15) | 0;
    e = (e + x) | 0;
    a = (x + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) | (d & (b | c)))) | 0;
  }
  out[to] = (s0 + a) | 0;
  out[to + 1] = (s1 + b) | 0;
  out[to + 2] = (s2 + c) | 0;
  out[to + 3] = (s3 + d) | 0;
  out[to + 4] = (s4 + e) | 0;
  out[to + 5] = (s5 + f) | 0;
  out[to + 6] = (s6 + g) | 0;
  out[to + 7] = (s7 + h) | 0;
}

/** noble's check for bytes: a `Uint8Array`, also from another realm. */
function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || (ArrayBuffer.isView(value) && value.constructor.name === 'Uint8Array' && (value as Uint8Array).BYTES_PER_ELEMENT === 1);
}

/**
 * HMAC-SHA256 under one key, prepared once: `#pads` holds the state after
 * the inner pad (words 0..7) and after the outer pad (8..15). Instances are
 * independent; call {@link HmacSha256.wipe} when done with the key.
 */
export class HmacSha256 {
  readonly #pads = new Int32Array(16);

  /** `key`: at most {@link SHA256_BLOCK_BYTES} bytes (HMAC hashes longer keys first: use node:crypto for those). */
  constructor(key: Uint8Array) {
    if (!isBytes(key)) throw new TypeError('HmacSha256: the key must be a Uint8Array');
    const n = key.length;
    if (n > SHA256_BLOCK_BYTES) throw new RangeError('HmacSha256: key longer than one block');
    // HMAC pads a short key with zeros to one block: key ^ ipad, then key ^ opad. Branches on the key's length only.
    for (let i = 0, p = 0; i < 16; i++, p += 4) {
      const word =
        p + 4 <= n
          ? (key[p]! << 24) | (key[p + 1]! << 16) | (key[p + 2]! << 8) | key[p + 3]!
          : p >= n
            ? 0
            : (key[p]! << 24) | ((p + 1 < n ? key[p + 1]! : 0) << 16) | ((p + 2 < n ? key[p + 2]! : 0) << 8);
      W[i] = word ^ 0x36363636;
    }
    compress(IV, 0, this.#pads, 0);
    for (let i = 0; i < 16; i++) W[i] = W[i]! ^ (0x36363636 ^ 0x5c5c5c5c);
    compress(IV, 0, this.#pads, 8);
    W.fill(0);
  }

  /**
   * Writes HMAC-SHA256(key, data) to `out[0..31]`, leaving the rest of
   * `out` alone. `data` may be of any length; it is read in full before
   * `out` is written, so the two may share memory.
   */
  macInto(data: Uint8Array, out: Uint8Array): void {
    if (!isBytes(data)) throw new TypeError('HmacSha256: the data must be a Uint8Array');
    if (!isBytes(out)) throw new TypeError('HmacSha256: the output must be a Uint8Array');
    if (out.length < SHA256_BYTES) throw new RangeError(`HmacSha256: the output must hold ${SHA256_BYTES} bytes`);
    const pads = this.#pads;
    const n = data.length;
    // Inner hash of ipad ‖ data: the data then SHA-256 padding (0x80, zeros, the bit length of 64 + n bytes in the last 8 bytes).
    const blocks = Math.floor((n + 9 + 63) / 64);
    let from = pads;
    let p = 0;
    for (let block = 1; block <= blocks; block++) {
      let i = 0;
      for (; i < 16 && p + 4 <= n; i++, p += 4) W[i] = (data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!;
      if (i < 16 && p <= n) {
        // The word with the end of the data and the 0x80 byte (p ≤ n < p + 4).
        const r = n - p;
        W[i++] =
          r === 0
            ? 0x80000000 | 0
            : r === 1
              ? (data[p]! << 24) | 0x800000
              : r === 2
                ? (data[p]! << 24) | (data[p + 1]! << 16) | 0x8000
                : (data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | 0x80;
        p += 4;
      }
      for (; i < 16; i++) W[i] = 0;
      if (block === blocks) {
        // ⌈(n + 9) / 64⌉ blocks leave the last 8 bytes past the 0x80 byte: they were zero, now the length.
        const bits = (SHA256_BLOCK_BYTES + n) * 8;
        W[14] = Math.floor(bits / 0x1_0000_0000) | 0;
        W[15] = bits | 0;
      }
      compress(from, 0, H, 0);
      from = H;
    }
    // Outer hash of opad ‖ inner hash: 32 bytes then padding for 64 + 32 bytes.
    for (let i = 0; i < 8; i++) W[i] = H[i]!;
    W[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) W[i] = 0;
    W[15] = (SHA256_BLOCK_BYTES + SHA256_BYTES) * 8;
    compress(pads, 8, H, 0);
    for (let i = 0, j = 0; i < 8; i++, j += 4) {
      const word = H[i]!;
      out[j] = word >>> 24;
      out[j + 1] = word >>> 16;
      out[j + 2] = word >>> 8;
      out[j + 3] = word;
    }
    // W[8..15] hold the outer padding, constants: the message's words and the inner hash were in W[0..7] last.
    for (let i = 0; i < 8; i++) {
      W[i] = 0;
      H[i] = 0;
    }
  }

  /** Zero the key-derived state. */
  wipe(): void {
    this.#pads.fill(0);
  }
}
