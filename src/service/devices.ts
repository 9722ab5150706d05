/**
 * Remembered browsers ("don't ask again on this device", DESIGN §6.3).
 *
 * A device token is `<device id>.<256 random bits>.<tag>` (base64url; the
 * tag is a MAC of the rest bound to the user and the device, so a token
 * twofold issued is told from junk without storing it); the record keeps
 * only an HMAC of the live token bound to the user and the device. Every use
 * rotates it in the same compare-and-set write that accepts it, so a copied
 * cookie and the real one cannot both keep working: whichever is used second
 * presents a rotated-away token (however many rotations ago: its tag still
 * verifies). Within `reuseGraceMs` of the last rotation that is a double
 * submit or a second tab (a normal challenge, no alarm); later it is a copy,
 * and the device is forgotten with `device.token_reused`.
 * Anything else unknown, expired or malformed simply gets a normal
 * challenge. A lock always wins over a device.
 */
import { hmacSha256Into, type HmacKey } from '../seal.ts';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { lengthPrefixedInto } from '../length-prefixed.ts';
import type { DeviceRecord, MfaRecord } from '../stores/types.ts';
import { withChanges, type EveryField } from './record.ts';
import { assertUserId, type ServiceContext } from './context.ts';
import type { DeviceForgottenCause, MfaEvent } from './events.ts';
import { checkLabel } from './factors/factor.ts';
import { MfaError } from '../errors.ts';
import type { DeviceInfo, ForgetDeviceResult, ForgetDevicesResult } from './results.ts';

/** `<22-char id>.<43-char secret>.<22-char tag>` (base64url); anything else is not even looked at. */
const TOKEN_LENGTH = 89;
const FIRST_DOT = 22;
const SECOND_DOT = 66;
const TAG_BYTES = 16;

/** 1 for each base64url character (A–Z, a–z, 0–9, `-`, `_`), indexed by UTF-16 code unit below 128. */
const B64URL = /* @__PURE__ */ (() => {
  const table = new Uint8Array(128);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') table[c.charCodeAt(0)] = 1;
  return table;
})();

/** A device token's parts, as `parseDeviceToken` reads them. */
export interface DeviceTokenParts {
  id: string;
  secret: string;
  tag: string;
}

/**
 * The three parts of a well-formed token, or null: exactly 89 characters,
 * dots at 22 and 66, base64url everywhere else. (One pass over the
 * characters, once per call; a regular expression with captures, run three
 * times, was a tenth of a device login.) Never throws, whatever `token` is.
 */
export function parseDeviceToken(token: unknown): DeviceTokenParts | null {
  if (typeof token !== 'string' || token.length !== TOKEN_LENGTH) return null;
  for (let i = 0; i < TOKEN_LENGTH; i++) {
    const code = token.charCodeAt(i);
    if (i === FIRST_DOT || i === SECOND_DOT ? code !== 0x2e : code >= 128 || B64URL[code] === 0) return null;
  }
  return { id: token.slice(0, FIRST_DOT), secret: token.slice(FIRST_DOT + 1, SECOND_DOT), tag: token.slice(SECOND_DOT + 1) };
}

/**
 * HMAC-SHA256 over (user, device, secret), written into `out` (32 bytes).
 * The record stores all of it (the live token's hash); the token carries its
 * first 128 bits as a tag, which proves twofold issued the token for this
 * user and device even after the record has moved on to a newer one. A dump
 * of the record gives the tag of the live token but never a secret that
 * produces it.
 */
function digestInto(key: HmacKey, userId: string, deviceId: string, secret: string, out: Buffer): void {
  // The MAC a challenge is signed with (from the subkey's precomputed pad states; node:crypto for long input).
  const input = lengthPrefixedInto([userId, deviceId, secret], macInputScratch);
  try {
    hmacSha256Into(key, input, out);
  } finally {
    // It holds the token's secret.
    input.fill(0);
  }
}

/** Scratch of digestInto's input (synchronous, never re-entered) for the usual short user id; wiped after each use. */
const macInputScratch = Buffer.alloc(256);
/**
 * Scratch of a digest, of the stored hash and of the presented tag while a
 * token is checked or made (synchronous, never re-entered; wiped after each
 * use), so that a device login allocates no buffer for them.
 */
const digestScratch = Buffer.alloc(32);
const digestTag = digestScratch.subarray(0, TAG_BYTES);
const storedScratch = Buffer.alloc(32);
const givenScratch = Buffer.alloc(TAG_BYTES);
/** base64url characters of a 32-byte hash (no padding). */
const HASH_CHARS = 43;

/** A fresh token for device `id` (a new device when omitted); the record gets only the hash. */
export function newDeviceToken(ctx: ServiceContext, userId: string, id = randomBytes(16).toString('base64url')): { id: string; token: string; hash: string } {
  const [key] = ctx.ring.hmacKeys('device-token');
  const secret = randomBytes(32).toString('base64url');
  try {
    digestInto(key!, userId, id, secret, digestScratch);
    return { id, token: `${id}.${secret}.${digestScratch.toString('base64url', 0, TAG_BYTES)}`, hash: digestScratch.toString('base64url') };
  } finally {
    digestScratch.fill(0);
  }
}

/**
 * What the token is to the device: its live token (the digest equals the
 * stored hash), one twofold issued for it and rotated away since (the tag
 * verifies), or neither. One HMAC per key of the ring; every key is tried and
 * every comparison is constant time.
 */
function classify(ctx: ServiceContext, userId: string, device: DeviceRecord, { id, secret, tag }: DeviceTokenParts): 'live' | 'issued' | 'unknown' {
  // Only a stored hash of exactly 43 characters that decode to 32 bytes can match: the scratch would take the
  // first 32 bytes of a longer one. (The tag is 22 characters parseDeviceToken checked: 16 bytes.)
  const storedOk = device.tokenHash.length === HASH_CHARS && storedScratch.write(device.tokenHash, 'base64url') === storedScratch.length;
  const givenOk = givenScratch.write(tag, 'base64url') === TAG_BYTES;
  let live = false;
  let issued = false;
  try {
    for (const key of ctx.ring.hmacKeys('device-token')) {
      digestInto(key, userId, id, secret, digestScratch);
      if (storedOk && timingSafeEqual(digestScratch, storedScratch)) live = true;
      if (givenOk && timingSafeEqual(digestTag, givenScratch)) issued = true;
    }
  } finally {
    digestScratch.fill(0);
    storedScratch.fill(0);
    givenScratch.fill(0);
  }
  return live ? 'live' : issued ? 'issued' : 'unknown';
}

/** What a presented token is to this record. */
export type DeviceTokenCheck =
  | { kind: 'live'; device: DeviceRecord }
  /** A rotated-away token: within the grace (`alarm: false`) or a copy (`alarm: true`). */
  | { kind: 'rotated'; device: DeviceRecord; alarm: boolean }
  | { kind: 'unknown' };

export function checkDeviceToken(ctx: ServiceContext, userId: string, record: MfaRecord, token: DeviceTokenParts, now: number): DeviceTokenCheck {
  const device = record.devices.find((d) => d.id === token.id);
  if (device === undefined || device.expiresAt <= now) return { kind: 'unknown' };
  const kind = classify(ctx, userId, device, token);
  if (kind === 'live') return { kind: 'live', device };
  // Not the live token, yet issued for this device: rotated away, by the last rotation or an earlier one
  // (keeping only the last replaced hash would let a copy used twice in a row hide). Its rotation was no later than the last.
  if (kind === 'issued') {
    const alarm = device.rotatedAt === null || now - device.rotatedAt > ctx.options.deviceReuseGraceMs;
    return { kind: 'rotated', device, alarm };
  }
  return { kind: 'unknown' };
}

/** The record after `device`'s token was accepted: rotated (the old one is dead) and its use noted. */
export function rotateDevice(record: MfaRecord, device: DeviceRecord, newHash: string, now: number): MfaRecord {
  // (One literal rather than a spread, as copyRecord explains.)
  const rotated: EveryField<DeviceRecord> = {
    id: device.id,
    label: device.label,
    tokenHash: newHash,
    rotatedAt: now,
    createdAt: device.createdAt,
    lastUsedAt: now,
    expiresAt: device.expiresAt,
  };
  return withChanges(record, { devices: record.devices.map((d) => (d.id === device.id ? rotated : d)) });
}

/** The record with a new remembered device (past `maxDevices`, the oldest are forgotten), and its events. */
export function rememberDevice(
  ctx: ServiceContext,
  userId: string,
  record: MfaRecord,
  fresh: { id: string; hash: string },
  label: string | null,
  now: number,
  events: MfaEvent[],
): { record: MfaRecord; expiresAt: number } {
  const expiresAt = now + ctx.options.deviceTtlMs;
  // Expired devices are dropped silently; they can do nothing any more.
  let devices = record.devices.filter((d) => d.expiresAt > now);
  devices.push({ id: fresh.id, label, tokenHash: fresh.hash, rotatedAt: null, createdAt: now, lastUsedAt: now, expiresAt });
  events.push({ type: 'device.remembered', userId, at: now, deviceId: fresh.id });
  while (devices.length > ctx.options.maxDevices) {
    const [oldest, ...rest] = devices;
    events.push({ type: 'device.forgotten', userId, at: now, deviceId: oldest!.id, cause: 'evicted' });
    devices = rest;
  }
  return { record: withChanges(record, { devices }), expiresAt };
}

/**
 * Events for forgetting every device of `record` (the caller writes the
 * record without them), or none when there were none.
 */
export function forgetAllEvents(record: MfaRecord, userId: string, now: number, cause: DeviceForgottenCause): MfaEvent[] {
  return record.devices.some((d) => d.expiresAt > now) ? [{ type: 'device.forgotten', userId, at: now, deviceId: null, cause }] : [];
}

/** The label a host passes with `rememberDevice`, checked like a factor's. */
export function deviceLabel(options: unknown): string | null {
  const label = (options as { label?: unknown } | undefined)?.label;
  if (label === undefined || label === null) return null;
  const checked = checkLabel(label);
  if (checked === null) throw new MfaError('invalid_argument', 'rememberDevice.label must be 1 to 64 characters without control characters');
  return checked;
}

/** `MfaService.listDevices`: live ones, never the token or its hash. */
export async function listDevices(ctx: ServiceContext, userId: string): Promise<DeviceInfo[]> {
  assertUserId(userId);
  const now = ctx.now();
  const record = (await ctx.read(userId))?.record;
  if (!record) return [];
  return record.devices
    .filter((d) => d.expiresAt > now)
    .map(({ id, label, createdAt, lastUsedAt, expiresAt }) => ({ id, label, createdAt, lastUsedAt, expiresAt }));
}

/** `MfaService.forgetDevice`. */
export async function forgetDevice(ctx: ServiceContext, userId: string, deviceId: string): Promise<ForgetDeviceResult> {
  assertUserId(userId);
  return ctx.update<ForgetDeviceResult>(userId, (record, now) => {
    const device = typeof deviceId === 'string' ? record.devices.find((d) => d.id === deviceId && d.expiresAt > now) : undefined;
    if (device === undefined) return { write: null, result: { ok: false, reason: 'not_found' } };
    return {
      write: withChanges(record, { devices: record.devices.filter((d) => d.id !== device.id) }),
      result: { ok: true },
      events: [{ type: 'device.forgotten', userId, at: now, deviceId: device.id, cause: 'manual' }],
    };
  });
}

/** `MfaService.forgetDevices`: every device, e.g. on a password change. */
export async function forgetDevices(ctx: ServiceContext, userId: string): Promise<ForgetDevicesResult> {
  assertUserId(userId);
  return ctx.update<ForgetDevicesResult>(userId, (record, now) => {
    const count = record.devices.filter((d) => d.expiresAt > now).length;
    if (record.devices.length === 0) return { write: null, result: { ok: true, count: 0 } };
    return { write: withChanges(record, { devices: [] }), result: { ok: true, count }, events: forgetAllEvents(record, userId, now, 'manual') };
  });
}
