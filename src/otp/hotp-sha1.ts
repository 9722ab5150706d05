/**
 * HOTP over HMAC-SHA-1 (RFC 4226) for keys of at most one SHA-1 block, in
 * plain 32-bit integer arithmetic: the key's inner and outer pads are
 * compressed once per key, then each counter costs two compressions.
 * node:crypto's `createHmac` spends most of its ~3 µs per HMAC on creating
 * objects, not on hashing; a TOTP check with the default window needs up
 * to three HMACs of an 8-byte counter under one key.
 *
 * The compression is unrolled: the working variables and a 16-word rolling
 * message schedule live in local int32 variables (no array indexing, no
 * boxed numbers), and the five working variables change roles from one
 * round to the next instead of being shifted. Words go in and out through
 * `Int32Array`s, never as function arguments, which V8 would box.
 *
 * Constant time as far as JavaScript allows: no branch and no memory index
 * depends on the key or the message (only additions, rotations and bitwise
 * operations on int32 values; the branches on the key's length are on a
 * public value), the one secret-dependent index being RFC 4226's dynamic
 * truncation, which every implementation performs. Once a call returns,
 * the shared scratch arrays hold nothing derived from the key (only zeros
 * and padding constants); the key's pad states stay in the instance until
 * {@link HotpSha1.wipe}.
 *
 * Checked against node:crypto on random keys and counters in
 * test/otp/hotp-sha1.test.ts and test/otp/hotp-sha1-interleaved.test.ts.
 */

/** SHA-1 block size in bytes: longer HMAC keys are hashed first (the callers use node:crypto for those). */
export const SHA1_BLOCK_BYTES = 64;

/** The IV (FIPS 180-4 §5.3.1), as a state to compress from. */
const IV = Int32Array.of(0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0);
/** The 16 words of the block being compressed (JavaScript runs one call at a time). Zero between calls, but for constants. */
const W = new Int32Array(16);
/** The digest of the last counter, while it is truncated. Zero between calls. */
const DIGEST = new Int32Array(5);

/**
 * One SHA-1 compression (FIPS 180-4 §6.1.2) of the block in `W` into the
 * state `s[at..at+4]`, written to `out[to..to+4]` (which may be `W`: the
 * block is read first). Rounds 40..79 add K = 0x8f1bbcdc and 0xca62c1d6 as
 * the int32 literals -0x70e44324 and -0x359d3e2a, so that every sum stays
 * in 32-bit arithmetic.
 */
function compress(s: Int32Array, at: number, out: Int32Array, to: number): void {
  const s0 = s[at]!;
  const s1 = s[at + 1]!;
  const s2 = s[at + 2]!;
  const s3 = s[at + 3]!;
  const s4 = s[at + 4]!;
  let a = s0;
  let b = s1;
  let c = s2;
  let d = s3;
  let e = s4;
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
  // Round t: e += rotl5(a) + f(b, c, d) + K + w[t]; b = rotl30(b); the next round names (e, a, b, c, d) as (a, b, c, d, e).
  // From round 16 on, w[t & 15] first becomes rotl1(w[t-3] ^ w[t-8] ^ w[t-14] ^ w[t-16]).
  // f is Ch as d ^ (b & (c ^ d)) for rounds 0..19, parity for 20..39 and 60..79, Maj as (b & c) | (d & (b | c)) for 40..59.
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + 0x5a827999 + w0) | 0; b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + 0x5a827999 + w1) | 0; a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + 0x5a827999 + w2) | 0; e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + 0x5a827999 + w3) | 0; d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + 0x5a827999 + w4) | 0; c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + 0x5a827999 + w5) | 0; b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + 0x5a827999 + w6) | 0; a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + 0x5a827999 + w7) | 0; e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + 0x5a827999 + w8) | 0; d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + 0x5a827999 + w9) | 0; c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + 0x5a827999 + w10) | 0; b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + 0x5a827999 + w11) | 0; a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + 0x5a827999 + w12) | 0; e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + 0x5a827999 + w13) | 0; d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + 0x5a827999 + w14) | 0; c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + 0x5a827999 + w15) | 0; b = (b << 30) | (b >>> 2);
  x = w13 ^ w8 ^ w2 ^ w0; w0 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + 0x5a827999 + w0) | 0; a = (a << 30) | (a >>> 2);
  x = w14 ^ w9 ^ w3 ^ w1; w1 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + 0x5a827999 + w1) | 0; e = (e << 30) | (e >>> 2);
  x = w15 ^ w10 ^ w4 ^ w2; w2 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + 0x5a827999 + w2) | 0; d = (d << 30) | (d >>> 2);
  x = w0 ^ w11 ^ w5 ^ w3; w3 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + 0x5a827999 + w3) | 0; c = (c << 30) | (c >>> 2);
  x = w1 ^ w12 ^ w6 ^ w4; w4 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + 0x6ed9eba1 + w4) | 0; b = (b << 30) | (b >>> 2);
  x = w2 ^ w13 ^ w7 ^ w5; w5 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + 0x6ed9eba1 + w5) | 0; a = (a << 30) | (a >>> 2);
  x = w3 ^ w14 ^ w8 ^ w6; w6 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + 0x6ed9eba1 + w6) | 0; e = (e << 30) | (e >>> 2);
  x = w4 ^ w15 ^ w9 ^ w7; w7 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + 0x6ed9eba1 + w7) | 0; d = (d << 30) | (d >>> 2);
  x = w5 ^ w0 ^ w10 ^ w8; w8 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + 0x6ed9eba1 + w8) | 0; c = (c << 30) | (c >>> 2);
  x = w6 ^ w1 ^ w11 ^ w9; w9 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + 0x6ed9eba1 + w9) | 0; b = (b << 30) | (b >>> 2);
  x = w7 ^ w2 ^ w12 ^ w10; w10 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + 0x6ed9eba1 + w10) | 0; a = (a << 30) | (a >>> 2);
  x = w8 ^ w3 ^ w13 ^ w11; w11 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + 0x6ed9eba1 + w11) | 0; e = (e << 30) | (e >>> 2);
  x = w9 ^ w4 ^ w14 ^ w12; w12 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + 0x6ed9eba1 + w12) | 0; d = (d << 30) | (d >>> 2);
  x = w10 ^ w5 ^ w15 ^ w13; w13 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + 0x6ed9eba1 + w13) | 0; c = (c << 30) | (c >>> 2);
  x = w11 ^ w6 ^ w0 ^ w14; w14 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + 0x6ed9eba1 + w14) | 0; b = (b << 30) | (b >>> 2);
  x = w12 ^ w7 ^ w1 ^ w15; w15 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + 0x6ed9eba1 + w15) | 0; a = (a << 30) | (a >>> 2);
  x = w13 ^ w8 ^ w2 ^ w0; w0 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + 0x6ed9eba1 + w0) | 0; e = (e << 30) | (e >>> 2);
  x = w14 ^ w9 ^ w3 ^ w1; w1 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + 0x6ed9eba1 + w1) | 0; d = (d << 30) | (d >>> 2);
  x = w15 ^ w10 ^ w4 ^ w2; w2 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + 0x6ed9eba1 + w2) | 0; c = (c << 30) | (c >>> 2);
  x = w0 ^ w11 ^ w5 ^ w3; w3 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + 0x6ed9eba1 + w3) | 0; b = (b << 30) | (b >>> 2);
  x = w1 ^ w12 ^ w6 ^ w4; w4 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + 0x6ed9eba1 + w4) | 0; a = (a << 30) | (a >>> 2);
  x = w2 ^ w13 ^ w7 ^ w5; w5 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + 0x6ed9eba1 + w5) | 0; e = (e << 30) | (e >>> 2);
  x = w3 ^ w14 ^ w8 ^ w6; w6 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + 0x6ed9eba1 + w6) | 0; d = (d << 30) | (d >>> 2);
  x = w4 ^ w15 ^ w9 ^ w7; w7 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + 0x6ed9eba1 + w7) | 0; c = (c << 30) | (c >>> 2);
  x = w5 ^ w0 ^ w10 ^ w8; w8 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + -0x70e44324 + w8) | 0; b = (b << 30) | (b >>> 2);
  x = w6 ^ w1 ^ w11 ^ w9; w9 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + -0x70e44324 + w9) | 0; a = (a << 30) | (a >>> 2);
  x = w7 ^ w2 ^ w12 ^ w10; w10 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + -0x70e44324 + w10) | 0; e = (e << 30) | (e >>> 2);
  x = w8 ^ w3 ^ w13 ^ w11; w11 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + -0x70e44324 + w11) | 0; d = (d << 30) | (d >>> 2);
  x = w9 ^ w4 ^ w14 ^ w12; w12 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + -0x70e44324 + w12) | 0; c = (c << 30) | (c >>> 2);
  x = w10 ^ w5 ^ w15 ^ w13; w13 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + -0x70e44324 + w13) | 0; b = (b << 30) | (b >>> 2);
  x = w11 ^ w6 ^ w0 ^ w14; w14 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + -0x70e44324 + w14) | 0; a = (a << 30) | (a >>> 2);
  x = w12 ^ w7 ^ w1 ^ w15; w15 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + -0x70e44324 + w15) | 0; e = (e << 30) | (e >>> 2);
  x = w13 ^ w8 ^ w2 ^ w0; w0 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + -0x70e44324 + w0) | 0; d = (d << 30) | (d >>> 2);
  x = w14 ^ w9 ^ w3 ^ w1; w1 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + -0x70e44324 + w1) | 0; c = (c << 30) | (c >>> 2);
  x = w15 ^ w10 ^ w4 ^ w2; w2 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + -0x70e44324 + w2) | 0; b = (b << 30) | (b >>> 2);
  x = w0 ^ w11 ^ w5 ^ w3; w3 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + -0x70e44324 + w3) | 0; a = (a << 30) | (a >>> 2);
  x = w1 ^ w12 ^ w6 ^ w4; w4 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + -0x70e44324 + w4) | 0; e = (e << 30) | (e >>> 2);
  x = w2 ^ w13 ^ w7 ^ w5; w5 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + -0x70e44324 + w5) | 0; d = (d << 30) | (d >>> 2);
  x = w3 ^ w14 ^ w8 ^ w6; w6 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + -0x70e44324 + w6) | 0; c = (c << 30) | (c >>> 2);
  x = w4 ^ w15 ^ w9 ^ w7; w7 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + -0x70e44324 + w7) | 0; b = (b << 30) | (b >>> 2);
  x = w5 ^ w0 ^ w10 ^ w8; w8 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + -0x70e44324 + w8) | 0; a = (a << 30) | (a >>> 2);
  x = w6 ^ w1 ^ w11 ^ w9; w9 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + -0x70e44324 + w9) | 0; e = (e << 30) | (e >>> 2);
  x = w7 ^ w2 ^ w12 ^ w10; w10 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + -0x70e44324 + w10) | 0; d = (d << 30) | (d >>> 2);
  x = w8 ^ w3 ^ w13 ^ w11; w11 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + -0x70e44324 + w11) | 0; c = (c << 30) | (c >>> 2);
  x = w9 ^ w4 ^ w14 ^ w12; w12 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + -0x359d3e2a + w12) | 0; b = (b << 30) | (b >>> 2);
  x = w10 ^ w5 ^ w15 ^ w13; w13 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + -0x359d3e2a + w13) | 0; a = (a << 30) | (a >>> 2);
  x = w11 ^ w6 ^ w0 ^ w14; w14 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + -0x359d3e2a + w14) | 0; e = (e << 30) | (e >>> 2);
  x = w12 ^ w7 ^ w1 ^ w15; w15 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + -0x359d3e2a + w15) | 0; d = (d << 30) | (d >>> 2);
  x = w13 ^ w8 ^ w2 ^ w0; w0 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + -0x359d3e2a + w0) | 0; c = (c << 30) | (c >>> 2);
  x = w14 ^ w9 ^ w3 ^ w1; w1 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + -0x359d3e2a + w1) | 0; b = (b << 30) | (b >>> 2);
  x = w15 ^ w10 ^ w4 ^ w2; w2 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + -0x359d3e2a + w2) | 0; a = (a << 30) | (a >>> 2);
  x = w0 ^ w11 ^ w5 ^ w3; w3 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + -0x359d3e2a + w3) | 0; e = (e << 30) | (e >>> 2);
  x = w1 ^ w12 ^ w6 ^ w4; w4 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + -0x359d3e2a + w4) | 0; d = (d << 30) | (d >>> 2);
  x = w2 ^ w13 ^ w7 ^ w5; w5 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + -0x359d3e2a + w5) | 0; c = (c << 30) | (c >>> 2);
  x = w3 ^ w14 ^ w8 ^ w6; w6 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + -0x359d3e2a + w6) | 0; b = (b << 30) | (b >>> 2);
  x = w4 ^ w15 ^ w9 ^ w7; w7 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + -0x359d3e2a + w7) | 0; a = (a << 30) | (a >>> 2);
  x = w5 ^ w0 ^ w10 ^ w8; w8 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + -0x359d3e2a + w8) | 0; e = (e << 30) | (e >>> 2);
  x = w6 ^ w1 ^ w11 ^ w9; w9 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + -0x359d3e2a + w9) | 0; d = (d << 30) | (d >>> 2);
  x = w7 ^ w2 ^ w12 ^ w10; w10 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + -0x359d3e2a + w10) | 0; c = (c << 30) | (c >>> 2);
  x = w8 ^ w3 ^ w13 ^ w11; w11 = (x << 1) | (x >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + -0x359d3e2a + w11) | 0; b = (b << 30) | (b >>> 2);
  x = w9 ^ w4 ^ w14 ^ w12; w12 = (x << 1) | (x >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + -0x359d3e2a + w12) | 0; a = (a << 30) | (a >>> 2);
  x = w10 ^ w5 ^ w15 ^ w13; w13 = (x << 1) | (x >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + -0x359d3e2a + w13) | 0; e = (e << 30) | (e >>> 2);
  x = w11 ^ w6 ^ w0 ^ w14; w14 = (x << 1) | (x >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + -0x359d3e2a + w14) | 0; d = (d << 30) | (d >>> 2);
  x = w12 ^ w7 ^ w1 ^ w15; w15 = (x << 1) | (x >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + -0x359d3e2a + w15) | 0; c = (c << 30) | (c >>> 2);
  out[to] = (s0 + a) | 0;
  out[to + 1] = (s1 + b) | 0;
  out[to + 2] = (s2 + c) | 0;
  out[to + 3] = (s3 + d) | 0;
  out[to + 4] = (s4 + e) | 0;
}

/** Big-endian word `p / 4` of `key` padded with zeros to one block. Branches on the key's length only. */
function keyWord(key: Uint8Array, p: number): number {
  const n = key.length;
  if (p + 4 <= n) return (key[p]! << 24) | (key[p + 1]! << 16) | (key[p + 2]! << 8) | key[p + 3]!;
  if (p >= n) return 0;
  return (key[p]! << 24) | ((p + 1 < n ? key[p + 1]! : 0) << 16) | ((p + 2 < n ? key[p + 2]! : 0) << 8);
}

/**
 * HMAC-SHA-1 under one key, prepared once: `#pads` holds the state after
 * the inner pad (words 0..4) and after the outer pad (5..9). Instances are
 * independent; call {@link HotpSha1.wipe} when done.
 */
export class HotpSha1 {
  readonly #pads = new Int32Array(10);

  /** `key`: at most {@link SHA1_BLOCK_BYTES} bytes (the caller hashes longer keys, as HMAC does). */
  constructor(key: Uint8Array) {
    if (key.length > SHA1_BLOCK_BYTES) throw new RangeError('HotpSha1: key longer than one block');
    // HMAC pads a short key with zeros to one block: key ^ ipad, then key ^ opad.
    for (let i = 0; i < 16; i++) W[i] = keyWord(key, i * 4) ^ 0x36363636;
    compress(IV, 0, this.#pads, 0);
    for (let i = 0; i < 16; i++) W[i] = W[i]! ^ (0x36363636 ^ 0x5c5c5c5c);
    compress(IV, 0, this.#pads, 5);
    W.fill(0);
  }

  /**
   * RFC 4226 dynamic truncation of HMAC-SHA-1(key, counter): a 31-bit
   * integer, not yet reduced to digits. `counter` is a safe integer ≥ 0.
   */
  truncated(counter: number): number {
    const pads = this.#pads;
    // Inner hash: the 8-byte big-endian counter, then padding for 64 + 8 bytes.
    W[0] = Math.floor(counter / 0x1_0000_0000) | 0;
    W[1] = counter | 0;
    W[2] = 0x80000000 | 0;
    for (let i = 3; i < 15; i++) W[i] = 0;
    W[15] = (SHA1_BLOCK_BYTES + 8) * 8;
    compress(pads, 0, W, 0);
    // Outer hash: the 20-byte inner digest (now in W[0..4]), then padding for 64 + 20 bytes.
    W[5] = 0x80000000 | 0;
    W[15] = (SHA1_BLOCK_BYTES + 20) * 8;
    compress(pads, 5, DIGEST, 0);
    W[0] = 0;
    W[1] = 0;
    W[2] = 0;
    W[3] = 0;
    W[4] = 0;
    // The low 4 bits of the digest's last byte pick 4 bytes, read big-endian.
    const offset = DIGEST[4]! & 0x0f;
    const word = offset >> 2;
    const shift = (offset & 3) * 8;
    // offset ≤ 15, so word ≤ 3 and the next word is the digest's too.
    const high = DIGEST[word]!;
    const value = shift === 0 ? high : (high << shift) | (DIGEST[word + 1]! >>> (32 - shift));
    DIGEST[0] = 0;
    DIGEST[1] = 0;
    DIGEST[2] = 0;
    DIGEST[3] = 0;
    DIGEST[4] = 0;
    return value & 0x7fff_ffff;
  }

  /** Zero the key-derived state. */
  wipe(): void {
    this.#pads.fill(0);
  }
}
