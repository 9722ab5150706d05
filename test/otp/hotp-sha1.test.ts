/**
 * HotpSha1 (the HMAC-SHA-1 of TOTP in integer arithmetic) against RFC 4226's
 * test values and against node:crypto on random keys and counters.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HotpSha1, SHA1_BLOCK_BYTES } from '../../src/otp/hotp-sha1.ts';
import { prng } from '../support/prng.ts';
import { hotpByNode } from './node-hotp.ts';

describe('HotpSha1', () => {
  it("gives RFC 4226 Appendix D's truncated values for counters 0..9", () => {
    const hotp = new HotpSha1(new TextEncoder().encode('12345678901234567890'));
    const expected = [1284755224, 1094287082, 137359152, 1726969429, 1640338314, 868254676, 1918287922, 82162583, 673399871, 645520489];
    expect(expected.map((_, counter) => hotp.truncated(counter))).toEqual(expected);
  });

  it('agrees with node:crypto for every key length 0..64 and random counters up to 2^53 - 1', () => {
    const next = prng(13);
    for (let length = 0; length <= SHA1_BLOCK_BYTES; length++) {
      for (let trial = 0; trial < 20; trial++) {
        const key = Uint8Array.from({ length }, () => Math.floor(next() * 256));
        const hotp = new HotpSha1(key);
        const counters = [0, 1, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER, Math.floor(next() * 2 ** 32), Math.floor(next() * Number.MAX_SAFE_INTEGER)];
        for (const counter of counters) expect(hotp.truncated(counter), `key ${Buffer.from(key).toString('hex')} counter ${counter}`).toBe(hotpByNode(key, counter));
        hotp.wipe();
      }
    }
  });

  it('agrees with node:crypto over 20,000 random 20-byte keys at TOTP-sized counters (every truncation offset)', () => {
    const next = prng(42);
    const offsets = new Set<number>();
    for (let trial = 0; trial < 20_000; trial++) {
      const key = Uint8Array.from({ length: 20 }, () => Math.floor(next() * 256));
      const counter = 55_000_000 + Math.floor(next() * 10_000_000);
      const hotp = new HotpSha1(key);
      const expected = hotpByNode(key, counter);
      if (hotp.truncated(counter) !== expected) throw new Error(`mismatch: key ${Buffer.from(key).toString('hex')} counter ${counter}`);
      const message = Buffer.alloc(8);
      message.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 0);
      message.writeUInt32BE(counter >>> 0, 4);
      offsets.add(createHmac('sha1', key).update(message).digest()[19]! & 0x0f);
    }
    expect(offsets.size).toBe(16);
  });

  it('keeps one key per instance: interleaved instances do not disturb each other', () => {
    const a = new Uint8Array(20).fill(1);
    const b = new Uint8Array(32).fill(2);
    const ha = new HotpSha1(a);
    const hb = new HotpSha1(b);
    for (let counter = 100; counter < 110; counter++) {
      expect(ha.truncated(counter)).toBe(hotpByNode(a, counter));
      expect(hb.truncated(counter)).toBe(hotpByNode(b, counter));
    }
  });

  it('refuses a key longer than one block (HMAC hashes those first: the caller uses node:crypto)', () => {
    expect(() => new HotpSha1(new Uint8Array(SHA1_BLOCK_BYTES + 1))).toThrow(RangeError);
  });
});
