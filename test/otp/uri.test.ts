import fc from 'fast-check';
import * as OTPAuth from 'otpauth';
import { generateURI } from 'otplib';
import { describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import { buildOtpauthUri, generateTotp, parseOtpauthUri, type OtpauthUriOptions } from '../../src/otp/index.ts';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isMfaError(error) ? error.code : `not an MfaError: ${String(error)}`;
  }
  return undefined;
}

describe('buildOtpauthUri', () => {
  it('writes the Key URI format with defaults left out', () => {
    expect(buildOtpauthUri({ issuer: 'Example App', accountName: 'alice@example.com', secret: SECRET })).toBe(
      `otpauth://totp/Example%20App:alice%40example.com?secret=${SECRET}&issuer=Example%20App`,
    );
  });

  it('writes algorithm, digits and period only when they are not the defaults', () => {
    const uri = buildOtpauthUri({ issuer: 'A', accountName: 'b', secret: SECRET, algorithm: 'SHA256', digits: 8, period: 60 });
    expect(uri).toBe(`otpauth://totp/A:b?secret=${SECRET}&issuer=A&algorithm=SHA256&digits=8&period=60`);
    const defaults = buildOtpauthUri({ issuer: 'A', accountName: 'b', secret: SECRET, algorithm: 'SHA1', digits: 6, period: 30 });
    expect(defaults).not.toMatch(/algorithm|digits|period/);
  });

  it('writes the secret as canonical base32 whatever form it was given in', () => {
    const key = new Uint8Array(20).map((_, i) => i * 13);
    const fromBytes = buildOtpauthUri({ issuer: 'A', accountName: 'b', secret: key });
    const canonical = new OTPAuth.Secret({ buffer: key.slice().buffer }).base32;
    expect(fromBytes).toContain(`secret=${canonical}&`);
    const spaced = canonical.toLowerCase().replace(/(.{4})/g, '$1 ');
    expect(buildOtpauthUri({ issuer: 'A', accountName: 'b', secret: spaced })).toBe(fromBytes);
    // 16 bytes → 26 characters, which padding would extend to 32.
    const sixteen = buildOtpauthUri({ issuer: 'A', accountName: 'b', secret: new Uint8Array(16).fill(255) });
    expect(sixteen).toMatch(/secret=[A-Z2-7]{26}&/);
  });

  it.each<[string, Partial<OtpauthUriOptions>]>([
    ['a colon in the issuer', { issuer: 'Acme:Corp' }],
    ['an encoded colon in the issuer', { issuer: 'Acme%3ACorp' }],
    ['a lower-case encoded colon in the issuer', { issuer: 'Acme%3aCorp' }],
    ['a colon in the account name', { accountName: 'alice:admin' }],
    ['an encoded colon in the account name', { accountName: 'alice%3Aadmin' }],
    ['an empty issuer', { issuer: '' }],
    ['an empty account name', { accountName: '' }],
    ['a non-string issuer', { issuer: 42 as unknown as string }],
    ['a missing account name', { accountName: undefined as unknown as string }],
    ['a newline in the issuer', { issuer: 'Acme\nBank' }],
    ['a NUL in the account name', { accountName: 'alice\u0000' }],
    ['a DEL in the account name', { accountName: 'alice\u007f' }],
    ['a C1 control in the issuer', { issuer: 'Acme\u0085' }],
    ['a right-to-left override in the issuer', { issuer: 'Acme\u202eknaB' }],
    ['a line separator in the account name', { accountName: 'alice\u2028bob' }],
    ['a lone surrogate in the account name', { accountName: 'alice\ud800' }],
    ['a leading space in the account name (readers may drop spaces after the colon)', { accountName: ' alice' }],
    ['a trailing space in the issuer', { issuer: 'Acme ' }],
    ['a trailing tab in the account name', { accountName: 'alice\t' }],
  ])('refuses %s with invalid_uri', (_, override) => {
    expect(errorCode(() => buildOtpauthUri({ issuer: 'Acme', accountName: 'alice', secret: SECRET, ...override }))).toBe('invalid_uri');
  });

  it.each<[string, Partial<OtpauthUriOptions>, string]>([
    ['a bad secret', { secret: 'not base32!' }, 'invalid_secret'],
    ['a short secret', { secret: new Uint8Array(8) }, 'invalid_secret'],
    ['an unknown algorithm', { algorithm: 'MD5' as 'SHA1' }, 'invalid_option'],
    ['digits 5', { digits: 5 as 6 }, 'invalid_option'],
    ['period 0', { period: 0 }, 'invalid_option'],
    ['period 121', { period: 121 }, 'invalid_option'],
    ['period 1.5', { period: 1.5 }, 'invalid_option'],
  ])('refuses %s with %s', (_, override, code) => {
    expect(errorCode(() => buildOtpauthUri({ issuer: 'Acme', accountName: 'alice', secret: SECRET, ...override }))).toBe(code);
  });
});

describe('build → parse round trip', () => {
  const names: Array<[string, string]> = [
    ['Example App', 'alice@example.com'],
    ['Acme & Co', 'bob smith'],
    ['100% Sure', 'x&y=z'],
    ['Q#1?', 'who?#where'],
    ['a=b&c=d', 'e=f'],
    ['Plus+Sign', 'c++@example.com'],
    ['Ünïcødé Bank 🔐', 'ユーザー@例え.jp'],
    ['Percent %20 literal', '%41%'],
    ['inner  spaces', 'a  b'],
    ["quote's \"double\"", '<tag>/\\slash'],
  ];

  it.each(names)('issuer %j, account %j survive exactly', (issuer, accountName) => {
    for (const options of [{}, { algorithm: 'SHA512' as const, digits: 7 as const, period: 45 }]) {
      const uri = buildOtpauthUri({ issuer, accountName, secret: SECRET, ...options });
      expect(uri).not.toContain('+');
      expect(uri).not.toContain(' ');
      expect(uri).not.toMatch(/=(&|$)|==/); // no padding, no empty values
      expect(uri.slice(uri.indexOf('?') + 1).split('&').every((pair) => pair.split('=').length === 2)).toBe(true);
      expect(parseOtpauthUri(uri)).toEqual({
        issuer,
        accountName,
        secret: SECRET,
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
        ...options,
      });
    }
  });

  it.each(names)('otpauth reads issuer %j, account %j from our URI', (issuer, accountName) => {
    const uri = buildOtpauthUri({ issuer, accountName, secret: SECRET, algorithm: 'SHA256', digits: 8, period: 60 });
    const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
    expect(totp).toBeInstanceOf(OTPAuth.TOTP);
    expect([totp.issuer, totp.secret.base32, totp.algorithm, totp.digits, totp.period]).toEqual([issuer, SECRET, 'SHA256', 8, 60]);
  });
});

describe('parseOtpauthUri interop', () => {
  it('reads a URI written by otplib generateURI', () => {
    const uri = generateURI({ issuer: 'ACME Co', label: 'john@example.com', secret: SECRET, algorithm: 'sha256', digits: 8, period: 60 });
    expect(parseOtpauthUri(uri)).toEqual({
      issuer: 'ACME Co',
      accountName: 'john@example.com',
      secret: SECRET,
      algorithm: 'SHA256',
      digits: 8,
      period: 60,
    });
  });

  it('reads a URI written by otpauth TOTP#toString, and the codes agree', () => {
    const totp = new OTPAuth.TOTP({ issuer: 'Ünï & Co', label: 'a b@c.d', secret: OTPAuth.Secret.fromBase32(SECRET), algorithm: 'SHA512', digits: 7, period: 20 });
    const parsed = parseOtpauthUri(totp.toString());
    expect(parsed).toEqual({ issuer: 'Ünï & Co', accountName: 'a b@c.d', secret: SECRET, algorithm: 'SHA512', digits: 7, period: 20 });
    const now = 1_700_000_000_000;
    expect(generateTotp(parsed.secret, { ...parsed, now })).toBe(totp.generate({ timestamp: now }));
  });

  it('reads a URI without issuer, with the issuer only in the label, or only as a parameter', () => {
    expect(parseOtpauthUri(`otpauth://totp/alice?secret=${SECRET}`)).toEqual({
      accountName: 'alice',
      secret: SECRET,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    expect(parseOtpauthUri(`otpauth://totp/Acme:alice?secret=${SECRET}`).issuer).toBe('Acme');
    expect(parseOtpauthUri(`otpauth://totp/alice?secret=${SECRET}&issuer=Acme`)).toMatchObject({ issuer: 'Acme', accountName: 'alice' });
  });

  it('is lenient where real providers differ: %3A separator, spaces after it, lower-case padded secret, lower-case algorithm, unknown parameters', () => {
    const secret16 = new OTPAuth.Secret({ buffer: Uint8Array.from({ length: 16 }, (_, i) => i * 17).buffer }).base32;
    expect(secret16).toHaveLength(26);
    const parsed = parseOtpauthUri(
      `otpauth://totp/Acme%3A%20%20alice?secret=${secret16.toLowerCase()}%3D%3D%3D%3D%3D%3D&algorithm=sha256&image=https%3A%2F%2Fx&`,
    );
    expect(parsed).toEqual({ issuer: 'Acme', accountName: 'alice', secret: secret16, algorithm: 'SHA256', digits: 6, period: 30 });
  });

  it('treats + as a literal plus, not a space', () => {
    expect(parseOtpauthUri(`otpauth://totp/A+B:c+d?secret=${SECRET}&issuer=A+B`)).toMatchObject({ issuer: 'A+B', accountName: 'c+d' });
  });

  it('accepts an 80-bit secret (what many providers issue) and refuses 72 bits', () => {
    expect(parseOtpauthUri('otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP').secret).toBe('JBSWY3DPEHPK3PXP');
    expect(errorCode(() => parseOtpauthUri('otpauth://totp/A:b?secret=JBSWY3DPEHPK3PY'))).toBe('invalid_uri');
  });
});

describe('parseOtpauthUri refuses malformed URIs with invalid_uri', () => {
  const ok = `secret=${SECRET}`;
  it.each<[string, unknown]>([
    ['a non-string', 42],
    ['null', null],
    ['an empty string', ''],
    ['another scheme', `https://totp/A:b?${ok}`],
    ['hotp (unsupported)', `otpauth://hotp/A:b?${ok}&counter=0`],
    ['no type', `otpauth://A:b?${ok}`],
    ['no parameters', 'otpauth://totp/A:b'],
    ['no secret', 'otpauth://totp/A:b?issuer=A'],
    ['an empty secret', 'otpauth://totp/A:b?secret=&issuer=A'],
    ['a secret that is not base32', 'otpauth://totp/A:b?secret=JBSWY3DPEHPK3PX1'],
    ['a secret of impossible length', 'otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXPA'],
    ['a secret below 80 bits', 'otpauth://totp/A:b?secret=JBSWY3DP'],
    ['a repeated secret', `otpauth://totp/A:b?${ok}&${ok}`],
    ['an unknown algorithm', `otpauth://totp/A:b?${ok}&algorithm=MD5`],
    ['an empty algorithm', `otpauth://totp/A:b?${ok}&algorithm=`],
    ['digits 5', `otpauth://totp/A:b?${ok}&digits=5`],
    ['digits 10', `otpauth://totp/A:b?${ok}&digits=10`],
    ['digits 6.0', `otpauth://totp/A:b?${ok}&digits=6.0`],
    ['period 0', `otpauth://totp/A:b?${ok}&period=0`],
    ['period 121', `otpauth://totp/A:b?${ok}&period=121`],
    ['period 1.5', `otpauth://totp/A:b?${ok}&period=1.5`],
    ['period 030', `otpauth://totp/A:b?${ok}&period=030`],
    ['period -30', `otpauth://totp/A:b?${ok}&period=-30`],
    ['a label issuer that disagrees with the parameter', `otpauth://totp/Evil:b?${ok}&issuer=Good`],
    ['malformed percent-encoding in the label', `otpauth://totp/A%ZZ:b?${ok}`],
    ['a truncated percent-encoding in the label', `otpauth://totp/A:b%?${ok}`],
    ['malformed percent-encoding in a value', `otpauth://totp/A:b?${ok}&issuer=A%E0%A4`],
    ['an empty label', `otpauth://totp/?${ok}`],
    ['an empty account name', `otpauth://totp/A:?${ok}`],
    ['an empty label issuer', `otpauth://totp/:b?${ok}`],
    ['an empty issuer parameter', `otpauth://totp/A:b?${ok}&issuer=`],
    ['a second colon in the label', `otpauth://totp/A:b:c?${ok}`],
    ['a colon in the issuer parameter', `otpauth://totp/b?${ok}&issuer=A%3AB`],
    ['a control character in the label', `otpauth://totp/A:b%0A?${ok}`],
    ['a raw control character', `otpauth://totp/A:b\n?${ok}`],
    ['a bidirectional override in the issuer parameter', `otpauth://totp/b?${ok}&issuer=%E2%80%AEevil`],
    ['a raw #', `otpauth://totp/A:b?${ok}#&issuer=A`],
  ])('%s', (_, uri) => {
    expect(errorCode(() => parseOtpauthUri(uri as string))).toBe('invalid_uri');
  });
});

describe('build → parse round trip for any names', () => {
  it('every pair of names build accepts comes back exactly; every other pair is refused with invalid_uri', () => {
    const name = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
    fc.assert(
      fc.property(name, name, (issuer, accountName) => {
        let uri: string;
        try {
          uri = buildOtpauthUri({ issuer, accountName, secret: SECRET });
        } catch (error) {
          expect(isMfaError(error, 'invalid_uri')).toBe(true);
          return;
        }
        expect(parseOtpauthUri(uri)).toMatchObject({ issuer, accountName, secret: SECRET });
      }),
      { numRuns: 2000 },
    );
  });
});
