import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, parseKey } from '../../../examples/express/config.ts';

const HEX_KEY = 'ab'.repeat(32);
const B64_KEY = Buffer.alloc(32, 7).toString('base64');
const SESSION = 's'.repeat(32);

describe('parseDuration', () => {
  it.each([
    ['30', 30_000],
    ['0', 0],
    ['1.5', 1500],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['1d', 86_400_000],
    [' 2 h ', 7_200_000],
    ['0.5s', 500],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '-5', '5x', '5 minutes', '1e3', '0.0001s', 'ms', '1h30m', '∞'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe('parseKey', () => {
  it.each([
    ['hex', HEX_KEY, 32],
    ['upper-case hex', HEX_KEY.toUpperCase(), 32],
    ['base64', B64_KEY, 32],
    ['base64 without padding', Buffer.alloc(40, 1).toString('base64').replace(/=+$/, ''), 40],
    ['base64url', Buffer.alloc(33, 0xfb).toString('base64url'), 33],
    ['with surrounding whitespace', `  ${HEX_KEY}\n`, 32],
  ])('decodes %s', (_name, text, length) => {
    expect(parseKey(text)?.length).toBe(length);
  });

  it('reads a string that is both hex and base64 as hex', () => {
    expect(Buffer.from(parseKey(HEX_KEY)!).toString('hex')).toBe(HEX_KEY);
  });

  it.each(['', 'not a key!', 'abcde', `${B64_KEY.slice(0, -2)}x=`])('refuses %j', (text) => {
    expect(parseKey(text)).toBeNull();
  });
});

describe('loadConfig', () => {
  it('has defaults: port 3000, 24 h delay, random keys with warnings, development', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.emailRecoveryDelayMs).toBe(24 * 3_600_000);
    expect(config.secretKey.length).toBe(32);
    expect(config.sessionSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.production).toBe(false);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.warnings).toHaveLength(2);
    expect(config.warnings[0]).toMatch(/TWOFOLD_SECRET_KEY is not set.*will not survive a restart/);
    expect(config.warnings[1]).toMatch(/SESSION_SECRET is not set/);
  });

  it('generates a different key each time when none is set', () => {
    expect(Buffer.from(loadConfig({}).secretKey).equals(Buffer.from(loadConfig({}).secretKey))).toBe(false);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      TWOFOLD_SECRET_KEY: B64_KEY,
      EMAIL_RECOVERY_DELAY: '30s',
      SESSION_SECRET: SESSION,
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://app.example.com/some/path',
    });
    expect(config).toMatchObject({
      port: 8080,
      emailRecoveryDelayMs: 30_000,
      sessionSecret: SESSION,
      production: true,
      publicUrl: 'https://app.example.com',
      warnings: [],
    });
    expect(Buffer.from(config.secretKey).equals(Buffer.alloc(32, 7))).toBe(true);
  });

  it.each([
    ['0', 0],
    ['65535', 65_535],
    ['', 3000],
  ])('PORT=%j is %d', (PORT, port) => {
    expect(loadConfig({ PORT }).port).toBe(port);
  });

  it('PUBLIC_URL defaults to http://localhost:$PORT, and with PORT=0 to what the app learns when it listens', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PORT: '0' }).publicUrl).toBeUndefined();
    expect(loadConfig({ PORT: '0', PUBLIC_URL: 'https://app.example.com' }).publicUrl).toBe('https://app.example.com');
  });

  it('warns that security keys are off when PUBLIC_URL is plain http on another host than localhost', () => {
    const keysWarning = /security keys and passkeys are off/;
    const plain = loadConfig({ PUBLIC_URL: 'http://demo.example.test', TWOFOLD_SECRET_KEY: B64_KEY, SESSION_SECRET: SESSION });
    expect(plain.warnings).toEqual([
      'PUBLIC_URL is http://demo.example.test: security keys and passkeys are off, browsers offer them only on https:// or http://localhost.',
    ]);
    for (const PUBLIC_URL of ['https://app.example.com', 'http://localhost:3000', 'http://app.localhost:3000']) {
      expect(loadConfig({ PUBLIC_URL }).warnings.join('\n')).not.toMatch(keysWarning);
    }
    expect(loadConfig({ PORT: '8080' }).warnings.join('\n')).not.toMatch(keysWarning);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a port out of range', { PORT: '70000' }, /^PORT must be/],
    ['a port that is not a number', { PORT: 'http' }, /^PORT must be/],
    ['a key that is neither hex nor base64', { TWOFOLD_SECRET_KEY: 'not a key!' }, /^TWOFOLD_SECRET_KEY must be hex or base64$/],
    ['a short key', { TWOFOLD_SECRET_KEY: 'ab'.repeat(16) }, /^TWOFOLD_SECRET_KEY must decode to at least 32 bytes, it decodes to 16$/],
    ['a bad duration', { EMAIL_RECOVERY_DELAY: 'soon' }, /^EMAIL_RECOVERY_DELAY must be a number of seconds or a duration/],
    ['a delay over 30 days', { EMAIL_RECOVERY_DELAY: '31d' }, /^EMAIL_RECOVERY_DELAY must be at most 30 days$/],
    ['a short session secret', { SESSION_SECRET: 'short' }, /^SESSION_SECRET must be at least 32 characters$/],
    ['a public URL that is no URL', { PUBLIC_URL: 'example.com' }, /^PUBLIC_URL must be an absolute/],
    ['a public URL that is not http(s)', { PUBLIC_URL: 'ftp://example.com' }, /^PUBLIC_URL must start with/],
    ['production without PUBLIC_URL', { NODE_ENV: 'production' }, /^PUBLIC_URL is required when NODE_ENV=production$/],
  ])('refuses %s, naming the variable', (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never puts a bad key into its error message', () => {
    const secret = `${'zz'.repeat(40)}!`;
    expect(() => loadConfig({ TWOFOLD_SECRET_KEY: secret })).toThrow(ConfigError);
    try {
      loadConfig({ TWOFOLD_SECRET_KEY: secret });
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
  });

  it.each(['development', 'test', undefined])('NODE_ENV=%j is not production', (NODE_ENV) => {
    expect(loadConfig(NODE_ENV === undefined ? {} : { NODE_ENV }).production).toBe(false);
  });
});

describe('loadConfig: where twofold keeps its state', () => {
  const base = { TWOFOLD_SECRET_KEY: HEX_KEY, SESSION_SECRET: SESSION };

  it('is in memory when neither DATABASE_URL nor REDIS_URL is set (or they are empty)', () => {
    expect(loadConfig(base).stores).toEqual({ kind: 'memory' });
    expect(loadConfig({ ...base, DATABASE_URL: '', REDIS_URL: ' ' }).stores).toEqual({ kind: 'memory' });
  });

  it('is PostgreSQL when DATABASE_URL is set', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/test';
    expect(loadConfig({ ...base, DATABASE_URL: url }).stores).toEqual({ kind: 'postgres', url, schema: 'public' });
    expect(loadConfig({ ...base, DATABASE_URL: url, DATABASE_SCHEMA: 'auth_2fa' }).stores).toEqual({ kind: 'postgres', url, schema: 'auth_2fa' });
    expect(loadConfig({ ...base, DATABASE_URL: 'postgresql://h/db' }).stores.kind).toBe('postgres');
  });

  it('is Redis when REDIS_URL is set', () => {
    expect(loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379' }).stores).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379' });
    expect(loadConfig({ ...base, REDIS_URL: 'rediss://cache:6380/2' }).stores.kind).toBe('redis');
  });

  it('prefers PostgreSQL when both are set, and says REDIS_URL is ignored', () => {
    const config = loadConfig({ ...base, DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://h' });
    expect(config.stores.kind).toBe('postgres');
    expect(config.warnings.join('\n')).toMatch(/REDIS_URL is ignored/);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ DATABASE_URL: 'mysql://h/db' }, /DATABASE_URL must start with postgres:\/\//],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL must be a URL/],
    [{ REDIS_URL: 'http://h' }, /REDIS_URL must start with redis:\/\//],
    [{ DATABASE_URL: 'postgres://h/db', DATABASE_SCHEMA: 'Auth; DROP' }, /DATABASE_SCHEMA must be a lower-case SQL identifier/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it.each([{ DATABASE_URL: 'postgres://h/db' }, { REDIS_URL: 'redis://h' }])(
    'requires TWOFOLD_SECRET_KEY with a shared store (%j): a random key would make every stored record unreadable',
    (env) => {
      expect(() => loadConfig({ SESSION_SECRET: SESSION, ...env })).toThrow(ConfigError);
      expect(() => loadConfig({ SESSION_SECRET: SESSION, ...env })).toThrow(/TWOFOLD_SECRET_KEY is required/);
    },
  );

  it('never puts a database password into its error message', () => {
    let message = '';
    try {
      loadConfig({ SESSION_SECRET: SESSION, DATABASE_URL: 'postgres://user:hunter2-secret@h/db' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TWOFOLD_SECRET_KEY/);
    expect(message).not.toContain('hunter2');
  });
});
