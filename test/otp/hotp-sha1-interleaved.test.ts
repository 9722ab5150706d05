/**
 * HotpSha1 keeps its key's pad states per instance and shares only scratch
 * that each call fills and empties: instances made, used and wiped in any
 * order, keys at any offset in their buffers, all agree with node:crypto.
 */
import { describe, expect, it } from 'vitest';
import { HotpSha1, SHA1_BLOCK_BYTES } from '../../src/otp/hotp-sha1.ts';
import { prng } from '../support/prng.ts';
import { hotpByNode } from './node-hotp.ts';

function bytes(next: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

describe('HotpSha1 instances', () => {
  it('stay independent when made, used and wiped in any order', () => {
    const next = prng(99);
    const live: { key: Uint8Array; hotp: HotpSha1 }[] = [];
    for (let n = 0; n < 3000; n++) {
      const action = next();
      if (live.length === 0 || action < 0.2) {
        // A new instance between two calls of the others (its setup uses the shared scratch).
        const key = bytes(next, Math.floor(next() * (SHA1_BLOCK_BYTES + 1)));
        live.push({ key, hotp: new HotpSha1(key) });
      } else if (action < 0.3) {
        live.splice(Math.floor(next() * live.length), 1)[0]!.hotp.wipe();
      } else {
        const { key, hotp } = live[Math.floor(next() * live.length)]!;
        const counter = next() < 0.5 ? 50_000_000 + Math.floor(next() * 20_000_000) : Math.floor(next() * Number.MAX_SAFE_INTEGER);
        if (hotp.truncated(counter) !== hotpByNode(key, counter)) throw new Error(`mismatch: key ${Buffer.from(key).toString('hex')} counter ${counter}`);
      }
    }
  });

  it('read keys at any offset in their buffer, Buffers too, and leave them unchanged', () => {
    const next = prng(5);
    const backing = bytes(next, 200);
    const before = Buffer.from(backing).toString('hex');
    for (let offset = 0; offset < 8; offset++) {
      for (const length of [0, 1, 2, 3, 4, 5, 19, 20, 21, 32, 63, 64]) {
        const key = offset % 2 === 0 ? backing.subarray(offset, offset + length) : Buffer.from(backing.buffer, backing.byteOffset + offset, length);
        const hotp = new HotpSha1(key);
        for (const counter of [0, 59_000_000, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER]) {
          expect(hotp.truncated(counter), `offset ${offset}, length ${length}, counter ${counter}`).toBe(hotpByNode(key, counter));
        }
        hotp.wipe();
      }
    }
    expect(Buffer.from(backing).toString('hex')).toBe(before);
  });

  it('give the same value for the same counter, called again and again', () => {
    const key = new TextEncoder().encode('12345678901234567890');
    const hotp = new HotpSha1(key);
    for (let n = 0; n < 5; n++) expect(hotp.truncated(1)).toBe(1094287082);
  });

  it('forget their key on wipe(): one instance wiped leaves the others right', () => {
    const a = new Uint8Array(20).fill(7);
    const b = new Uint8Array(20).fill(9);
    const ha = new HotpSha1(a);
    const hb = new HotpSha1(b);
    expect(ha.truncated(123)).toBe(hotpByNode(a, 123));
    ha.wipe();
    expect(ha.truncated(123)).not.toBe(hotpByNode(a, 123));
    expect(hb.truncated(123)).toBe(hotpByNode(b, 123));
  });
});
