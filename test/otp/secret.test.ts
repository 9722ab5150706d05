import { describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import { decodeBase32 } from '../../src/otp/base32.ts';
import { generateSecret } from '../../src/otp/index.ts';

describe('generateSecret', () => {
  it('defaults to 20 bytes: 32 base32 characters, uppercase, no padding', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(decodeBase32(secret)).toHaveLength(20);
  });

  it.each([16, 20, 32, 64, 128])('%i bytes decode back to that many bytes, with no padding', (bytes) => {
    const secret = generateSecret(bytes);
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    expect(secret).toHaveLength(Math.ceil((bytes * 8) / 5));
    expect(decodeBase32(secret)).toHaveLength(bytes);
  });

  it('is unique over 5,000 draws and uses the whole alphabet', () => {
    const secrets = Array.from({ length: 5000 }, () => generateSecret());
    expect(new Set(secrets).size).toBe(5000);
    expect(new Set(secrets.join('')).size).toBe(32);
  });

  it.each([0, 10, 15, 129, 16.5, Number.NaN, Number.POSITIVE_INFINITY, -20, '20'])(
    'refuses %s bytes with invalid_argument (fewer than 16 is below the RFC 4226 minimum)',
    (bytes) => {
      let error: unknown;
      try {
        generateSecret(bytes as number);
      } catch (caught) {
        error = caught;
      }
      expect(isMfaError(error, 'invalid_argument')).toBe(true);
    },
  );
});
