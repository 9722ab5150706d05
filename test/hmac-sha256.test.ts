/**
 * HmacSha256 (the HMAC-SHA256 in integer arithmetic behind `hmacSha256Into`)
 * against RFC 4231's test cases and against node:crypto on random keys of
 * every length a block holds and messages of every length around the block
 * boundaries; and `hmacSha256Into`, which uses it for a ring's subkeys, on
 * both sides of its switch to `createHmac`.
 */
import { createHash, createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { bytesOf, prng } from './support/prng.ts';
import { HmacSha256, SHA256_BLOCK_BYTES, SHA256_BYTES } from '../src/hmac-sha256.ts';
import { createKeyRing, hmacSha256Into } from '../src/seal.ts';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function byNode(key: Uint8Array, data: Uint8Array): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

function mac(key: Uint8Array, data: Uint8Array): string {
  const out = new Uint8Array(SHA256_BYTES);
  new HmacSha256(key).macInto(data, out);
  return hex(out);
}

const ascii = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

/** RFC 4231 §4: key, data, HMAC-SHA-256 (case 5's output is truncated to 128 bits). */
const RFC4231: readonly { name: string; key: Uint8Array; data: Uint8Array; mac: string }[] = [
  {
    name: 'case 1',
    key: new Uint8Array(20).fill(0x0b),
    data: ascii('Hi There'),
    mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  },
  {
    name: 'case 2 (a key shorter than the output)',
    key: ascii('Jefe'),
    data: ascii('what do ya want for nothing?'),
    mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
  {
    name: 'case 3',
    key: new Uint8Array(20).fill(0xaa),
    data: new Uint8Array(50).fill(0xdd),
    mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
  },
  {
    name: 'case 4',
    key: fromHex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
    data: new Uint8Array(50).fill(0xcd),
    mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  },
  {
    name: 'case 5 (truncated to 128 bits)',
    key: new Uint8Array(20).fill(0x0c),
    data: ascii('Test With Truncation'),
    mac: 'a3b6167473100ee06e0c796c2955552b',
  },
  {
    name: 'case 6 (a 131-byte key)',
    key: new Uint8Array(131).fill(0xaa),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    name: 'case 7 (a 131-byte key and a 152-byte message)',
    key: new Uint8Array(131).fill(0xaa),
    data: ascii('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

describe('HmacSha256', () => {
  it('gives RFC 4231 test cases 1 to 5 (keys of at most one block)', () => {
    for (const { name, key, data, mac: expected } of RFC4231.slice(0, 5)) {
      expect(key.length, name).toBeLessThanOrEqual(SHA256_BLOCK_BYTES);
      expect(mac(key, data).slice(0, expected.length), name).toBe(expected);
    }
  });

  it('refuses the longer keys of cases 6 and 7, gives their MACs from the key hashed first (as HMAC does), and createHmac agrees', () => {
    for (const { name, key, data, mac: expected } of RFC4231.slice(5)) {
      expect(() => new HmacSha256(key), name).toThrow(RangeError);
      expect(mac(new Uint8Array(createHash('sha256').update(key).digest()), data), name).toBe(expected);
      // hmacSha256Into with raw bytes takes node's path, which hashes the key itself.
      const out = new Uint8Array(32);
      hmacSha256Into(key, data, out);
      expect(hex(out), name).toBe(expected);
    }
  });

  it('agrees with node:crypto on messages of every length 0..300, with random keys of 0..64 bytes', () => {
    const rand = prng(2024);
    let checked = 0;
    for (let length = 0; length <= 300; length++) {
      for (let trial = 0; trial < 12; trial++) {
        const keyLength = trial === 0 ? 0 : trial === 1 ? SHA256_BLOCK_BYTES : trial === 2 ? 32 : Math.floor(rand() * (SHA256_BLOCK_BYTES + 1));
        const key = bytesOf(rand, keyLength);
        const data = bytesOf(rand, length);
        expect(mac(key, data), `key ${hex(key)}, ${length} bytes`).toBe(byNode(key, data));
        checked++;
      }
    }
    expect(checked).toBe(301 * 12);
  });

  it('agrees with node:crypto at the padding boundaries for every key length 0..64', () => {
    // 55 bytes fill one block with the padding; 56..63 spill the length into a second; 64, 119, 120, 127, 128 likewise one block on.
    const boundaries = [0, 1, 3, 4, 5, 54, 55, 56, 57, 62, 63, 64, 65, 118, 119, 120, 121, 127, 128, 129, 183, 184, 191, 192];
    const rand = prng(7);
    for (let keyLength = 0; keyLength <= SHA256_BLOCK_BYTES; keyLength++) {
      const key = bytesOf(rand, keyLength);
      const hmac = new HmacSha256(key);
      const out = new Uint8Array(SHA256_BYTES);
      for (const length of boundaries) {
        const data = bytesOf(rand, length);
        hmac.macInto(data, out);
        expect(hex(out), `key of ${keyLength} bytes, ${length} bytes`).toBe(byNode(key, data));
      }
      hmac.wipe();
    }
  });

  it('agrees with node:crypto on 5,000 random keys and messages, long ones too, one instance reused per key', () => {
    const rand = prng(31337);
    for (let n = 0; n < 5000; n++) {
      const key = bytesOf(rand, Math.floor(rand() * (SHA256_BLOCK_BYTES + 1)));
      const hmac = new HmacSha256(key);
      const out = new Uint8Array(SHA256_BYTES);
      for (let m = 0; m < 3; m++) {
        const length = rand() < 0.95 ? Math.floor(rand() * 200) : Math.floor(rand() * 5000);
        const data = bytesOf(rand, length);
        hmac.macInto(data, out);
        if (hex(out) !== byNode(key, data)) throw new Error(`mismatch: key ${hex(key)}, data ${hex(data)}`);
      }
    }
  });

  it('keeps one key per instance: interleaved instances and a key set up between two MACs do not disturb each other', () => {
    const rand = prng(11);
    const keys = [bytesOf(rand, 32), bytesOf(rand, 20), bytesOf(rand, 64), new Uint8Array(0)];
    const macs = keys.map((key) => new HmacSha256(key));
    const out = new Uint8Array(SHA256_BYTES);
    for (let n = 0; n < 200; n++) {
      const i = n % keys.length;
      const data = bytesOf(rand, Math.floor(rand() * 150));
      macs[i]!.macInto(data, out);
      expect(hex(out)).toBe(byNode(keys[i]!, data));
      if (n % 7 === 0) new HmacSha256(bytesOf(rand, 40)).macInto(data, new Uint8Array(32));
    }
  });

  it('reads keys and messages at any offset in their buffers, Buffers too, and writes only the first 32 bytes of a longer output', () => {
    const rand = prng(5);
    const backing = bytesOf(rand, 400);
    for (let offset = 0; offset < 9; offset++) {
      const key = backing.subarray(offset, offset + 33);
      const data = Buffer.from(backing.buffer, backing.byteOffset + offset + 40, 130);
      const before = hex(backing);
      const out = new Uint8Array(48).fill(7);
      new HmacSha256(key).macInto(data, out.subarray(offset, offset + 40));
      expect(hex(out.subarray(offset, offset + 32))).toBe(byNode(key, data));
      expect([...out.subarray(0, offset), ...out.subarray(offset + 32)]).toEqual(Array(16).fill(7));
      expect(hex(backing)).toBe(before);
    }
  });

  it('may write its output over its own input', () => {
    const rand = prng(9);
    const key = bytesOf(rand, 32);
    for (const length of [32, 55, 100]) {
      const buffer = bytesOf(rand, length);
      const expected = byNode(key, buffer);
      new HmacSha256(key).macInto(buffer, buffer);
      expect(hex(buffer.subarray(0, 32))).toBe(expected);
    }
  });

  it('accepts a Uint8Array of another realm, as noble did', () => {
    const key = new Uint8Array(randomBytes(32));
    const data = runInNewContext('new Uint8Array([1, 2, 3, 250])') as Uint8Array;
    expect(data instanceof Uint8Array).toBe(false);
    expect(mac(key, data)).toBe(byNode(key, new Uint8Array([1, 2, 3, 250])));
  });

  it('refuses what is not bytes, and a short output, without writing anything; the next MAC is still right', () => {
    const key = new Uint8Array(randomBytes(32));
    const hmac = new HmacSha256(key);
    const out = new Uint8Array(32).fill(1);
    expect(() => hmac.macInto('abc' as unknown as Uint8Array, out)).toThrow(TypeError);
    expect(() => hmac.macInto(new Int8Array(4) as unknown as Uint8Array, out)).toThrow(TypeError);
    expect(() => hmac.macInto(new Uint8Array(4), [] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => hmac.macInto(new Uint8Array(4), new Uint8Array(31))).toThrow(RangeError);
    expect([...out]).toEqual(Array(32).fill(1));
    expect(() => new HmacSha256('key' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => new HmacSha256(new Uint8Array(SHA256_BLOCK_BYTES + 1))).toThrow(RangeError);
    hmac.macInto(Buffer.from('abc'), out);
    expect(hex(out)).toBe(byNode(key, Buffer.from('abc')));
  });

  it('wipe() forgets the key: the instance no longer gives its MACs', () => {
    const key = new Uint8Array(32).fill(0x42);
    const hmac = new HmacSha256(key);
    const data = Buffer.from('payload');
    const out = new Uint8Array(32);
    hmac.macInto(data, out);
    expect(hex(out)).toBe(byNode(key, data));
    hmac.wipe();
    hmac.macInto(data, out);
    expect(hex(out)).not.toBe(byNode(key, data));
  });
});

describe('hmacSha256Into on both sides of its switch to createHmac', () => {
  const ring = createKeyRing({ secretKey: randomBytes(32), previousSecretKeys: [randomBytes(40)] });

  it('equals node:crypto for a ring subkey at every length 0..1100 (the JavaScript path up to 512 bytes, native beyond)', () => {
    const rand = prng(77);
    const keys = ring.hmacKeys('challenge');
    const raws = ring.macKeys('challenge');
    const out = new Uint8Array(32);
    for (let length = 0; length <= 1100; length++) {
      const i = length % keys.length;
      const data = bytesOf(rand, length);
      hmacSha256Into(keys[i]!, data, out);
      expect(hex(out), `${length} bytes`).toBe(byNode(raws[i]!, data));
    }
  });

  it('equals node:crypto for raw keys and foreign KeyObjects (createHmac), of any length', () => {
    const rand = prng(78);
    const out = new Uint8Array(32);
    for (const keyLength of [0, 16, 32, 64, 65, 131]) {
      const raw = bytesOf(rand, keyLength);
      for (const key of [raw, Buffer.from(raw), ...(keyLength > 0 ? [createSecretKey(raw)] : [])]) {
        for (const length of [0, 55, 90, 600]) {
          const data = bytesOf(rand, length);
          hmacSha256Into(key, data, out);
          expect(hex(out), `key of ${keyLength} bytes, ${length} bytes`).toBe(byNode(raw, data));
        }
      }
    }
  });
});
