/**
 * HOTP over HMAC-SHA-1 (RFC 4226) for keys of at most one SHA-1 block, in
 * plain 32-bit integer arithmetic: the key's inner and outer pads are
 * compressed once per call, then each counter costs two compressions.
 * node:crypto's `createHmac` spends most of its ~3 µs per HMAC on creating
 * objects, not on hashing; a TOTP check with the default window needs up
 * to three HMACs of an 8-byte counter under one key.
 *
 * Constant time as far as JavaScript allows: no branch and no memory index
 * depends on the key or the message (only additions, rotations and bitwise
 * operations on int32 values), the one secret-dependent index being RFC
 * 4226's dynamic truncation, which every implementation performs. The
 * scratch arrays are wiped before {@link HotpSha1.wipe} returns.
 *
 * Checked against node:crypto on random keys and counters in
 * test/otp/hotp-sha1.test.ts.
 */

/** SHA-1 block size in bytes: longer HMAC keys are hashed first (the callers use node:crypto for those). */
export const SHA1_BLOCK_BYTES = 64;

const H0 = 0x67452301;
const H1 = 0xefcdab89 | 0;
const H2 = 0x98badcfe | 0;
const H3 = 0x10325476;
const H4 = 0xc3d2e1f0 | 0;

/** Message schedule, reused by every compression (JavaScript runs one call at a time). */
const W = new Int32Array(80);
/** The key padded with zeros to one block, while its pads are made; zero otherwise. */
const BLOCK = new Uint8Array(SHA1_BLOCK_BYTES);

/**
 * One SHA-1 compression of the 16 words already in `W[0..15]` into the
 * state `s[at..at+4]`, written to `out[to..to+4]`.
 */
function compress(s: Int32Array, at: number, out: Int32Array, to: number): void {
  for (let t = 16; t < 80; t++) {
    const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
    W[t] = (x << 1) | (x >>> 31);
  }
  let a = s[at]!;
  let b = s[at + 1]!;
  let c = s[at + 2]!;
  let d = s[at + 3]!;
  let e = s[at + 4]!;
  for (let t = 0; t < 20; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + W[t]! + 0x5a827999) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  for (let t = 20; t < 40; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + W[t]! + 0x6ed9eba1) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  for (let t = 40; t < 60; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + W[t]! + 0x8f1bbcdc) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  for (let t = 60; t < 80; t++) {
    const tmp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + W[t]! + 0xca62c1d6) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  out[to] = (s[at]! + a) | 0;
  out[to + 1] = (s[at + 1]! + b) | 0;
  out[to + 2] = (s[at + 2]! + c) | 0;
  out[to + 3] = (s[at + 3]! + d) | 0;
  out[to + 4] = (s[at + 4]! + e) | 0;
}

/** The IV, as a state to compress from. */
const IV = Int32Array.of(H0, H1, H2, H3, H4);

/**
 * HMAC-SHA-1 under one key, prepared once: `pads` holds the state after the
 * inner pad (words 0..4) and after the outer pad (5..9); `inner` the inner
 * hash of the last counter. Call {@link HotpSha1.wipe} when done.
 */
export class HotpSha1 {
  readonly #pads = new Int32Array(10);
  readonly #inner = new Int32Array(5);
  readonly #digest = new Int32Array(5);

  /** `key`: at most {@link SHA1_BLOCK_BYTES} bytes (the caller hashes longer keys, as HMAC does). */
  constructor(key: Uint8Array) {
    if (key.length > SHA1_BLOCK_BYTES) throw new RangeError('HotpSha1: key longer than one block');
    this.#pad(key, 0x36363636, 0);
    this.#pad(key, 0x5c5c5c5c, 5);
    W.fill(0);
  }

  #pad(key: Uint8Array, pad: number, to: number): void {
    // HMAC pads a short key with zeros to one block.
    BLOCK.set(key);
    for (let i = 0; i < 16; i++) {
      const j = i * 4;
      W[i] = ((BLOCK[j]! << 24) | (BLOCK[j + 1]! << 16) | (BLOCK[j + 2]! << 8) | BLOCK[j + 3]!) ^ pad;
    }
    BLOCK.fill(0);
    compress(IV, 0, this.#pads, to);
  }

  /**
   * RFC 4226 dynamic truncation of HMAC-SHA-1(key, counter): a 31-bit
   * integer, not yet reduced to digits. `counter` is a safe integer ≥ 0.
   */
  truncated(counter: number): number {
    // Inner hash: the 8-byte big-endian counter, then padding for 64 + 8 bytes.
    W[0] = Math.floor(counter / 0x1_0000_0000) | 0;
    W[1] = counter | 0;
    W[2] = 0x80000000 | 0;
    for (let i = 3; i < 15; i++) W[i] = 0;
    W[15] = (SHA1_BLOCK_BYTES + 8) * 8;
    compress(this.#pads, 0, this.#inner, 0);
    // Outer hash: the 20-byte inner digest, then padding for 64 + 20 bytes.
    const inner = this.#inner;
    W[0] = inner[0]!;
    W[1] = inner[1]!;
    W[2] = inner[2]!;
    W[3] = inner[3]!;
    W[4] = inner[4]!;
    W[5] = 0x80000000 | 0;
    for (let i = 6; i < 15; i++) W[i] = 0;
    W[15] = (SHA1_BLOCK_BYTES + 20) * 8;
    const digest = this.#digest;
    compress(this.#pads, 5, digest, 0);
    W.fill(0);
    // The low 4 bits of the digest's last byte pick 4 bytes, read big-endian.
    const offset = digest[4]! & 0x0f;
    const word = offset >> 2;
    const shift = (offset & 3) * 8;
    // offset ≤ 15, so word ≤ 3 and the next word exists.
    const high = digest[word]!;
    const value = shift === 0 ? high : (high << shift) | (digest[word + 1]! >>> (32 - shift));
    return value & 0x7fff_ffff;
  }

  /** Zero the key-derived state. */
  wipe(): void {
    this.#pads.fill(0);
    this.#inner.fill(0);
    this.#digest.fill(0);
    W.fill(0);
  }
}
