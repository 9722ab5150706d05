/**
 * How many HMACs verifyTotp computes, counted at node:crypto itself: the
 * module is mocked for this file only, with createHmac wrapped in a spy
 * that still computes the real HMAC. No test seam in src/.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MALFORMED_CODES } from './malformed-codes.ts';

vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  return { ...crypto, createHmac: vi.fn(crypto.createHmac) };
});

const { createHmac } = await import('node:crypto');
const { generateTotp, verifyTotp } = await import('../../src/otp/index.ts');

const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const now = 1_700_000_010_000;
const hmacs = vi.mocked(createHmac);
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
    expect(hmacs).not.toHaveBeenCalled();
  });

  it('a wrong code computes every candidate step of the default window (3)', () => {
    expect(verifyTotp(secret, wrong, { now })).toBeNull();
    expect(hmacs).toHaveBeenCalledTimes(3);
  });

  it.each([
    { past: 0, future: 0, count: 1 },
    { past: 2, future: 0, count: 3 },
    { past: 10, future: 10, count: 21 },
  ])('a wrong code computes every candidate step of window {past: $past, future: $future} ($count)', ({ past, future, count }) => {
    expect(verifyTotp(secret, wrong, { now, window: { past, future } })).toBeNull();
    expect(hmacs).toHaveBeenCalledTimes(count);
  });

  it('the current step is tried first: a valid current code costs one HMAC', () => {
    const current = generateTotp(secret, { now });
    hmacs.mockClear();
    expect(verifyTotp(secret, current, { now })).toEqual({ delta: 0 });
    expect(hmacs).toHaveBeenCalledTimes(1);
  });

  it('then -1, then +1: a code of the next step costs three HMACs, of the previous step two', () => {
    const next = generateTotp(secret, { now: now + 30_000 });
    const previous = generateTotp(secret, { now: now - 30_000 });
    hmacs.mockClear();
    expect(verifyTotp(secret, previous, { now })).toEqual({ delta: -1 });
    expect(hmacs).toHaveBeenCalledTimes(2);
    hmacs.mockClear();
    expect(verifyTotp(secret, next, { now })).toEqual({ delta: 1 });
    expect(hmacs).toHaveBeenCalledTimes(3);
  });

  it('steps before 0 are skipped, not computed: at now = 0 with past 10, a wrong code costs one HMAC', () => {
    const step0 = generateTotp(secret, { now: 0 });
    hmacs.mockClear();
    expect(verifyTotp(secret, step0 === '000000' ? '000001' : '000000', { now: 0, window: { past: 10, future: 0 } })).toBeNull();
    expect(hmacs).toHaveBeenCalledTimes(1);
  });
});
