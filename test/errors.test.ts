import { describe, expect, it, vi } from 'vitest';
import { isMfaError, MfaError } from '../src/errors.ts';

describe('MfaError', () => {
  it('carries a stable code, a name and an optional cause', () => {
    const cause = new Error('inner');
    const error = new MfaError('invalid_option', 'MfaService option `issuer` must be …', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(MfaError);
    expect(error.name).toBe('MfaError');
    expect(error.code).toBe('invalid_option');
    expect(error.cause).toBe(cause);
    expect(isMfaError(error)).toBe(true);
    expect(isMfaError(error, 'invalid_option')).toBe(true);
    expect(isMfaError(error, 'weak_secret_key')).toBe(false);
  });

  it('is recognised across copies of the class (each entry point and module format bundles one)', async () => {
    // A second, separately evaluated copy of the module, as a sibling bundle would have.
    vi.resetModules();
    const copy = (await import('../src/errors.ts')) as typeof import('../src/errors.ts');
    expect(copy.MfaError).not.toBe(MfaError);
    const foreign = new copy.MfaError('store_conflict', 'gave up');
    expect(foreign).toBeInstanceOf(MfaError);
    expect(isMfaError(foreign, 'store_conflict')).toBe(true);
    expect(new MfaError('seal_invalid', 'x')).toBeInstanceOf(copy.MfaError);
  });

  it.each([null, undefined, 0, 'MfaError', {}, new Error('plain'), { code: 'invalid_option', name: 'MfaError' }])(
    'does not mistake %j for an MfaError',
    (value) => {
      expect(value instanceof MfaError).toBe(false);
      expect(isMfaError(value)).toBe(false);
    },
  );
});
