import { join } from 'node:path';
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
  it('has defaults: port 3000, 24 h delay, everything in .data/example.db, secrets from .data/secrets.json with warnings, development', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.emailRecoveryDelayMs).toBe(24 * 3_600_000);
    expect(config.stores).toEqual({ database: { kind: 'sqlite', file: '.data/example.db' }, redis: undefined });
    // Not random: server.ts reads (or makes once) the file, so a restart keeps logins and MFA working.
    expect(config.secretKey).toBeUndefined();
    expect(config.sessionSecret).toBeUndefined();
    expect(config.secretsFile).toBe(join('.data', 'secrets.json'));
    expect(config.production).toBe(false);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.warnings).toHaveLength(2);
    expect(config.warnings[0]).toMatch(/^TWOFOLD_SECRET_KEY is not set: using the development key kept in \.data\/secrets\.json .*Production must set it: export TWOFOLD_SECRET_KEY=\$\(openssl rand -base64 32\)\.$/);
    expect(config.warnings[1]).toMatch(/^SESSION_SECRET is not set: using the development secret kept in \.data\/secrets\.json\. Production must set it/);
  });

  it('needs no secrets file when both secrets are set, and only one when one is missing', () => {
    expect(loadConfig({ TWOFOLD_SECRET_KEY: HEX_KEY, SESSION_SECRET: SESSION }).secretsFile).toBeUndefined();
    expect(loadConfig({ TWOFOLD_SECRET_KEY: HEX_KEY }).secretsFile).toBe(join('.data', 'secrets.json'));
    expect(loadConfig({ SESSION_SECRET: SESSION }).secretsFile).toBe(join('.data', 'secrets.json'));
    expect(loadConfig({ SESSION_SECRET: SESSION }).warnings).toHaveLength(1);
  });

  it('keeps the secrets file beside a SQLite file given in DATABASE_URL', () => {
    expect(loadConfig({ DATABASE_URL: 'file:/var/lib/example/app.db' }).secretsFile).toBe('/var/lib/example/secrets.json');
    expect(loadConfig({ DATABASE_URL: 'file:data/app.db' }).secretsFile).toBe(join('data', 'secrets.json'));
    expect(loadConfig({ DATABASE_URL: 'file:app.db' }).secretsFile).toBe('secrets.json');
  });

  it.each<[string, Record<string, string>]>([
    ['TWOFOLD_SECRET_KEY', { SESSION_SECRET: 's'.repeat(32) }],
    ['SESSION_SECRET', { TWOFOLD_SECRET_KEY: 'ab'.repeat(32) }],
  ])('requires %s in production (never a generated one)', (name, env) => {
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://app.example.com', ...env };
    expect(() => loadConfig(production)).toThrow(ConfigError);
    expect(() => loadConfig(production)).toThrow(new RegExp(`^${name} is required when NODE_ENV=production`));
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
    expect(Buffer.from(config.secretKey!).equals(Buffer.alloc(32, 7))).toBe(true);
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
    ['production without PUBLIC_URL', { NODE_ENV: 'production', TWOFOLD_SECRET_KEY: HEX_KEY, SESSION_SECRET: SESSION }, /^PUBLIC_URL is required when NODE_ENV=production$/],
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

describe('loadConfig: where accounts, sessions and twofold state live', () => {
  const base = { TWOFOLD_SECRET_KEY: HEX_KEY, SESSION_SECRET: SESSION };
  const sqlite = (file: string) => ({ database: { kind: 'sqlite', file }, redis: undefined });

  it('is the SQLite file .data/example.db when DATABASE_URL is not set (or empty)', () => {
    expect(loadConfig(base).stores).toEqual(sqlite('.data/example.db'));
    expect(loadConfig({ ...base, DATABASE_URL: '', REDIS_URL: ' ' }).stores).toEqual(sqlite('.data/example.db'));
  });

  it('is another SQLite file with DATABASE_URL=file:…', () => {
    expect(loadConfig({ ...base, DATABASE_URL: 'file:.data/other.db' }).stores).toEqual(sqlite('.data/other.db'));
    expect(loadConfig({ ...base, DATABASE_URL: 'file:/tmp/x/app.db' }).stores).toEqual(sqlite('/tmp/x/app.db'));
    expect(loadConfig({ ...base, DATABASE_URL: 'file:///tmp/x/app.db' }).stores).toEqual(sqlite('/tmp/x/app.db'));
  });

  it('is PostgreSQL when DATABASE_URL is postgres://…', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/test';
    expect(loadConfig({ ...base, DATABASE_URL: url }).stores).toEqual({ database: { kind: 'postgres', url, schema: 'public' }, redis: undefined });
    expect(loadConfig({ ...base, DATABASE_URL: url, DATABASE_SCHEMA: 'auth_2fa' }).stores.database).toEqual({ kind: 'postgres', url, schema: 'auth_2fa' });
    expect(loadConfig({ ...base, DATABASE_URL: 'postgresql://h/db' }).stores.database.kind).toBe('postgres');
  });

  it('is MySQL or MariaDB when DATABASE_URL is mysql://…', () => {
    const url = 'mysql://root@127.0.0.1:3306/test';
    expect(loadConfig({ ...base, DATABASE_URL: url }).stores).toEqual({ database: { kind: 'mysql', url }, redis: undefined });
  });

  it('says DATABASE_SCHEMA is ignored outside PostgreSQL', () => {
    expect(loadConfig({ ...base, DATABASE_SCHEMA: 'auth' }).warnings).toEqual(['DATABASE_SCHEMA is for PostgreSQL only: ignored.']);
    expect(loadConfig({ ...base, DATABASE_URL: 'mysql://h/db', DATABASE_SCHEMA: 'auth' }).warnings).toEqual(['DATABASE_SCHEMA is for PostgreSQL only: ignored.']);
  });

  it('puts twofold state and sessions in Redis with REDIS_URL, the accounts staying in the database', () => {
    expect(loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379' }).stores).toEqual({
      database: { kind: 'sqlite', file: '.data/example.db' },
      redis: 'redis://127.0.0.1:6379',
    });
    const both = loadConfig({ ...base, DATABASE_URL: 'postgres://h/db', REDIS_URL: 'rediss://cache:6380/2' });
    expect(both.stores).toEqual({ database: { kind: 'postgres', url: 'postgres://h/db', schema: 'public' }, redis: 'rediss://cache:6380/2' });
    expect(both.warnings).toEqual([]);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ DATABASE_URL: 'sqlite://h/db' }, /^DATABASE_URL must be file:path \(SQLite\), postgres:\/\/… \(PostgreSQL\) or mysql:\/\/… \(MySQL, MariaDB\)$/],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL must be file:path/],
    [{ DATABASE_URL: 'file:' }, /^DATABASE_URL=file:… needs the path of a database file/],
    [{ DATABASE_URL: 'file::memory:' }, /^DATABASE_URL=file:… needs the path of a database file/],
    [{ DATABASE_URL: 'file:.data/' }, /^DATABASE_URL=file:… needs the path of a database file/],
    [{ DATABASE_URL: 'file:app.db?mode=ro' }, /^DATABASE_URL=file:… takes a plain file path/],
    [{ REDIS_URL: 'http://h' }, /REDIS_URL must start with redis:\/\//],
    [{ DATABASE_URL: 'postgres://h/db', DATABASE_SCHEMA: 'Auth; DROP' }, /DATABASE_SCHEMA must be a lower-case SQL identifier/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it.each([{ DATABASE_URL: 'postgres://h/db' }, { DATABASE_URL: 'mysql://h/db' }, { REDIS_URL: 'redis://h' }])(
    'with a shared engine (%j) in development, the secrets come from .data/secrets.json and the warnings say every app server needs the same',
    (env) => {
      const config = loadConfig(env);
      expect(config.secretsFile).toBe(join('.data', 'secrets.json'));
      expect(config.warnings).toHaveLength(2);
      for (const warning of config.warnings) expect(warning).toMatch(/Every app server sharing the database needs the same value\.$/);
    },
  );

  it('never puts a database password into its error message', () => {
    let message = '';
    try {
      loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://a.example', SESSION_SECRET: SESSION, DATABASE_URL: 'postgres://user:hunter2-secret@h/db' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TWOFOLD_SECRET_KEY/);
    expect(message).not.toContain('hunter2');
    try {
      loadConfig({ ...base, DATABASE_URL: 'mongodb://user:hunter2-secret@h/db' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^DATABASE_URL must be/);
    expect(message).not.toContain('hunter2');
  });
});
