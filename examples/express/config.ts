/**
 * The example's configuration, read from environment variables. Parsing is
 * pure (no printing, no process or file access) so it can be tested as a
 * table; server.ts prints the warnings and reads the development secrets
 * file (secrets.ts). Error messages name the variable, never a secret value.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keysPossibleOn } from './relying-party.ts';

export interface Config {
  /** TCP port; 0 lets the OS pick one. */
  port: number;
  /**
   * Root key of twofold (seals TOTP secrets, signs challenges): >= 32 bytes.
   * Undefined when TWOFOLD_SECRET_KEY is not set (development only): it then
   * comes from {@link secretsFile}.
   */
  secretKey: Uint8Array | undefined;
  /** How long an email recovery waits before its link works. */
  emailRecoveryDelayMs: number;
  /** Signs the session cookie. Undefined when SESSION_SECRET is not set (development only): from {@link secretsFile}. */
  sessionSecret: string | undefined;
  /**
   * Where the secrets that are not set are generated once and kept
   * (secrets.ts): `secrets.json` beside the SQLite file (`.data/` by
   * default), else `.data/secrets.json`. Undefined when both are set; never
   * in production, where both are required.
   */
  secretsFile: string | undefined;
  /** `NODE_ENV === 'production'`: secure cookies, trusted proxy, no dev outbox. */
  production: boolean;
  /**
   * Origin of emailed links, e.g. `https://app.example.com`; required in
   * production. Default `http://localhost:$PORT`; with PORT=0 undefined here,
   * and the app uses `http://localhost:<the port it got>` (ExampleApp.listen).
   * Never taken from a request's Host header (links.ts).
   */
  publicUrl: string | undefined;
  /** Where the accounts, the sessions and twofold's MFA records and recovery-code hashes live. */
  stores: StoresConfig;
  /** Things worth telling the person starting the server. */
  warnings: string[];
}

/** The database of the accounts (and, without Redis, of the sessions and twofold's state). */
export type DatabaseConfig =
  /** A file (the default: `.data/example.db`), one machine; several processes may share it. */
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; schema: string }
  | { kind: 'mysql'; url: string };

export interface StoresConfig {
  database: DatabaseConfig;
  /** REDIS_URL: twofold's state and the sessions in Redis instead (the accounts stay in the database). */
  redis: string | undefined;
}

/** Where `npm start` keeps everything when DATABASE_URL is not set (relative to the working directory, the package root under npm). */
export const DEFAULT_SQLITE_FILE = '.data/example.db';
/** Where the development secrets are kept when the database is not a SQLite file. */
export const DEFAULT_SECRETS_FILE = '.data/secrets.json';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const MIN_KEY_BYTES = 32;
const MIN_SESSION_SECRET_CHARS = 32;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DEFAULT_EMAIL_RECOVERY_DELAY_MS = 24 * UNIT_MS.h!;
/** Longer waits help nobody, and the token must also live a while after the wait. */
const MAX_EMAIL_RECOVERY_DELAY_MS = 30 * UNIT_MS.d!;

/**
 * A duration in ms: a whole or decimal number of seconds (`90`), or a number
 * with a unit: `500ms`, `30s`, `5m`, `24h`, `1d`. Null when it is none of
 * these or not a whole number of ms.
 */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  return Number.isSafeInteger(ms) ? ms : null;
}

/**
 * The bytes of a key written as hex (only hex digits, even length) or as
 * base64/base64url (padding optional), the forms twofold's `secretKey`
 * accepts; hex wins when a string is both. Null when it is neither.
 */
export function parseKey(text: string): Uint8Array | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(trimmed)) return Uint8Array.from(Buffer.from(trimmed, 'hex'));
  const unpadded = trimmed.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9+/]+$/.test(unpadded) && !/^[A-Za-z0-9_-]+$/.test(unpadded)) return null;
  const bytes = Buffer.from(unpadded, 'base64');
  // Canonical only: a truncated or mistyped key must not decode to something else.
  const canonical = bytes.toString('base64').replace(/=+$/, '');
  return canonical === unpadded.replace(/-/g, '+').replace(/_/g, '/') ? Uint8Array.from(bytes) : null;
}

function parsePort(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return 3000;
  const port = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError('PORT must be an integer from 0 to 65535');
  return port;
}

function parseServiceUrl(name: string, text: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(`${name} must be a URL such as ${protocols[0]}//host:port/…`);
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  return text.trim();
}

/** `file:path` (relative to the working directory) or `file:///absolute/path`: the SQLite file. */
function parseSqliteFile(text: string): string {
  const rest = text.slice('file:'.length);
  if (/[?#]/.test(rest)) throw new ConfigError('DATABASE_URL=file:… takes a plain file path, without ?options');
  const file = rest.startsWith('//') ? fileURLToPath(text) : rest;
  if (file === '' || file === ':memory:' || file.endsWith('/')) {
    throw new ConfigError(`DATABASE_URL=file:… needs the path of a database file, such as file:${DEFAULT_SQLITE_FILE}`);
  }
  return file;
}

const DATABASE_PROTOCOLS = ['postgres:', 'postgresql:', 'mysql:'] as const;

/**
 * DATABASE_URL: `file:` → SQLite (the default, `file:.data/example.db`),
 * `postgres://` → PostgreSQL (schema DATABASE_SCHEMA), `mysql://` → MySQL or
 * MariaDB. REDIS_URL moves twofold's state and the sessions to Redis.
 */
function parseStores(env: Readonly<Record<string, string | undefined>>, warnings: string[]): StoresConfig {
  const text = env.DATABASE_URL?.trim() ? env.DATABASE_URL.trim() : `file:${DEFAULT_SQLITE_FILE}`;
  const redisText = env.REDIS_URL?.trim() ? env.REDIS_URL : undefined;
  const redis = redisText === undefined ? undefined : parseServiceUrl('REDIS_URL', redisText, ['redis:', 'rediss:']);
  const schemaText = env.DATABASE_SCHEMA?.trim();

  let database: DatabaseConfig;
  if (text.startsWith('file:')) {
    database = { kind: 'sqlite', file: parseSqliteFile(text) };
  } else {
    let protocol: string;
    try {
      protocol = new URL(text).protocol;
    } catch {
      protocol = '';
    }
    if (!(DATABASE_PROTOCOLS as readonly string[]).includes(protocol)) {
      throw new ConfigError('DATABASE_URL must be file:path (SQLite), postgres://… (PostgreSQL) or mysql://… (MySQL, MariaDB)');
    }
    const url = text;
    if (protocol === 'mysql:') {
      database = { kind: 'mysql', url };
    } else {
      const schema = schemaText || 'public';
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ConfigError('DATABASE_SCHEMA must be a lower-case SQL identifier such as twofold');
      database = { kind: 'postgres', url, schema };
    }
  }
  if (schemaText && database.kind !== 'postgres') warnings.push('DATABASE_SCHEMA is for PostgreSQL only: ignored.');
  return { database, redis };
}

function parsePublicUrl(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError('PUBLIC_URL must be an absolute http(s) URL such as https://app.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('PUBLIC_URL must start with http:// or https://');
  return url.origin;
}

/** Read the configuration from `env` (usually `process.env`). Throws {@link ConfigError} on a bad value. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const warnings: string[] = [];
  const production = env.NODE_ENV === 'production';
  const stores = parseStores(env, warnings);
  const { database } = stores;
  const shared = database.kind !== 'sqlite' || stores.redis !== undefined;
  // Development only: a secret that is not set is generated once into this file and read from it at
  // every start, so records sealed under the key and signed-in sessions survive a restart.
  const secretsFile = database.kind === 'sqlite' ? join(dirname(database.file), 'secrets.json') : DEFAULT_SECRETS_FILE;
  const sameOnEveryServer = shared ? ' Every app server sharing the database needs the same value.' : '';

  let secretKey: Uint8Array | undefined;
  if (env.TWOFOLD_SECRET_KEY === undefined || env.TWOFOLD_SECRET_KEY.trim() === '') {
    // A random key per start would make every stored record unreadable after a restart.
    if (production) throw new ConfigError('TWOFOLD_SECRET_KEY is required when NODE_ENV=production: export TWOFOLD_SECRET_KEY=$(openssl rand -base64 32)');
    warnings.push(
      `TWOFOLD_SECRET_KEY is not set: using the development key kept in ${secretsFile} (made on the first start). ` +
        `Production must set it: export TWOFOLD_SECRET_KEY=$(openssl rand -base64 32).${sameOnEveryServer}`,
    );
  } else {
    const key = parseKey(env.TWOFOLD_SECRET_KEY);
    if (key === null) throw new ConfigError('TWOFOLD_SECRET_KEY must be hex or base64');
    if (key.length < MIN_KEY_BYTES) {
      throw new ConfigError(`TWOFOLD_SECRET_KEY must decode to at least ${MIN_KEY_BYTES} bytes, it decodes to ${key.length}`);
    }
    secretKey = key;
  }

  let emailRecoveryDelayMs = DEFAULT_EMAIL_RECOVERY_DELAY_MS;
  if (env.EMAIL_RECOVERY_DELAY !== undefined && env.EMAIL_RECOVERY_DELAY.trim() !== '') {
    const ms = parseDuration(env.EMAIL_RECOVERY_DELAY);
    if (ms === null) {
      throw new ConfigError('EMAIL_RECOVERY_DELAY must be a number of seconds or a duration such as 500ms, 30s, 5m, 24h or 1d');
    }
    if (ms > MAX_EMAIL_RECOVERY_DELAY_MS) throw new ConfigError('EMAIL_RECOVERY_DELAY must be at most 30 days');
    emailRecoveryDelayMs = ms;
  }

  let sessionSecret: string | undefined;
  if (env.SESSION_SECRET === undefined || env.SESSION_SECRET === '') {
    if (production) throw new ConfigError('SESSION_SECRET is required when NODE_ENV=production: export SESSION_SECRET=$(openssl rand -base64 32)');
    warnings.push(
      `SESSION_SECRET is not set: using the development secret kept in ${secretsFile}. ` +
        `Production must set it: export SESSION_SECRET=$(openssl rand -base64 32).${sameOnEveryServer}`,
    );
  } else {
    if (env.SESSION_SECRET.length < MIN_SESSION_SECRET_CHARS) {
      throw new ConfigError(`SESSION_SECRET must be at least ${MIN_SESSION_SECRET_CHARS} characters`);
    }
    sessionSecret = env.SESSION_SECRET;
  }

  const port = parsePort(env.PORT);
  // Emailed links are never built from the request's Host header, which the
  // client chooses. In production the public origin must be said; in
  // development it is this machine.
  let publicUrl = parsePublicUrl(env.PUBLIC_URL);
  if (production && publicUrl === undefined) throw new ConfigError('PUBLIC_URL is required when NODE_ENV=production');
  if (publicUrl === undefined && port !== 0) publicUrl = `http://localhost:${port}`;
  if (publicUrl !== undefined && !keysPossibleOn(publicUrl)) {
    warnings.push(`PUBLIC_URL is ${publicUrl}: security keys and passkeys are off, browsers offer them only on https:// or http://localhost.`);
  }

  return {
    port,
    secretKey,
    emailRecoveryDelayMs,
    sessionSecret,
    secretsFile: secretKey === undefined || sessionSecret === undefined ? secretsFile : undefined,
    production,
    publicUrl,
    stores,
    warnings,
  };
}
