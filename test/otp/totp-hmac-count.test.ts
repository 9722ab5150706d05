/**
 * How many HMACs verifyTotp computes, counted where they are computed:
 * SHA-1 under a key of at most one block (every secret here) by
 * `HotpSha1.truncated`, wrapped in a spy that still computes it; any other
 * HMAC by node:crypto, whose module is mocked for this file only with
 * createHmac wrapped the same way. The count is their sum, so an HMAC is
 * counted whichever way it is made. No test seam in src/.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MALFORMED_CODES } from './malformed-codes.ts';

vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  return { ...crypto, createHmac: vi.fn(crypto.createHmac) };
});

const { createHmac } = await import('node:crypto');
const { generateTotp, verifyTotp } = await import('../../src/otp/index.ts');
const { HotpSha1 } = await import('../../src/otp/hotp-sha1.ts');

const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const now = 1_700_000_010_000;
const nodeHmacs = vi.mocked(createHmac);
const sha1Hmacs = vi.spyOn(HotpSha1.prototype, 'truncated');
/** Every HMAC computed since the last clear, by either path. */
const hmacs = {
  mockClear() {
    nodeHmacs.mockClear();
    sha1Hmacs.mockClear();
  },
  get calls() {
    return nodeHmacs.mock.calls.length + sha1Hmacs.mock.calls.length;
  },
};
/** A well-formed code that matches no step of ±10 around `now`. */
const wrong = (() => {
  const window = new Set(Array.from({ length: 21 }, (_, i) => generateTotp(secret, { now: now + (i - 10) * 30_000 })));
  for (let i = 0; ; i++) if (!window.has(String(i).padStart(6, '0'))) return String(i).padStart(6, '0');
})();

beforeEach(() => {
  hmacs.mockClear();
});

describe('verifyTotp HMAC count', () => {
  it.each(MALFORMED_CODES)('a malformed code (%s) is refused without computing any HMAC', (_, code) => {
    expect(verifyTotp(secret, code, { now })).toBeNull();
    expect(hmacs.calls).toBe(0);
  });

  it('a wrong code computes every candidate step of the default window (3)', () => {
    expect(verifyTotp(secret, wrong, { now })).toBeNull();
    expect(hmacs.calls).toBe(3);
  });

  it.each([
    { past: 0, future: 0, count: 1 },
    { past: 2, future: 0, count: 3 },
    { past: 10, future: 10, count: 21 },
  ])('a wrong code computes every candidate step of window {past: $past, future: $future} ($count)', ({ past, future, count }) => {
    expect(verifyTotp(secret, wrong, { now, window: { past, future } })).toBeNull();
    expect(hmacs.calls).toBe(count);
  });

  it('the current step is tried first: a valid current code costs one HMAC', () => {
    const current = generateTotp(secret, { now });
    hmacs.mockClear();
    expect(verifyTotp(secret, current, { now })).toEqual({ delta: 0 });
    expect(hmacs.calls).toBe(1);
  });

  it('then -1, then +1: a code of the next step costs three HMACs, of the previous step two', () => {
    const next = generateTotp(secret, { now: now + 30_000 });
    const previous = generateTotp(secret, { now: now - 30_000 });
    hmacs.mockClear();
    expect(verifyTotp(secret, previous, { now })).toEqual({ delta: -1 });
    expect(hmacs.calls).toBe(2);
    hmacs.mockClear();
    expect(verifyTotp(secret, next, { now })).toEqual({ delta: 1 });
    expect(hmacs.calls).toBe(3);
  });

  it('steps before 0 are skipped, not computed: at now = 0 with past 10, a wrong code costs one HMAC', () => {
    const step0 = generateTotp(secret, { now: 0 });
    hmacs.mockClear();
    expect(verifyTotp(secret, step0 === '000000' ? '000001' : '000000', { now: 0, window: { past: 10, future: 0 } })).toBeNull();
    expect(hmacs.calls).toBe(1);
  });

  it.each(['SHA256', 'SHA512'] as const)('%s (node:crypto): the same counts, a wrong code three, a current code one', (algorithm) => {
    expect(verifyTotp(secret, wrong, { now, algorithm })).toBeNull();
    expect(nodeHmacs).toHaveBeenCalledTimes(3);
    expect(sha1Hmacs).not.toHaveBeenCalled();
    const current = generateTotp(secret, { now, algorithm });
    hmacs.mockClear();
    expect(verifyTotp(secret, current, { now, algorithm })).toEqual({ delta: 0 });
    expect(hmacs.calls).toBe(1);
  });

  it('a SHA-1 key longer than one block (65 bytes) goes through node:crypto, counted the same', () => {
    const long = new Uint8Array(65).fill(7);
    const code = generateTotp(long, { now });
    hmacs.mockClear();
    expect(verifyTotp(long, code === '000000' ? '000001' : '000000', { now })).toBeNull();
    expect(nodeHmacs).toHaveBeenCalledTimes(3);
    expect(sha1Hmacs).not.toHaveBeenCalled();
  });
});
