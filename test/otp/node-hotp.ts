import { createHmac } from 'node:crypto';

/** HOTP-SHA1's dynamic truncation (before the modulus) by node:crypto: the reference the hand-written HMAC is checked against. */
export function hotpByNode(key: Uint8Array, counter: number): number {
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 0);
  message.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac('sha1', key).update(message).digest();
  return mac.readUInt32BE(mac[19]! & 0x0f) & 0x7fff_ffff;
}
