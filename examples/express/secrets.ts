/**
 * Development secrets that outlive a restart. When TWOFOLD_SECRET_KEY or
 * SESSION_SECRET is not set (never in production: config.ts requires both
 * there), the missing one comes from a small JSON file, generated on the
 * first start with mode 0600 beside the SQLite database (`.data/secrets.json`
 * by default) and read at every start after:
 *
 * ```json
 * { "TWOFOLD_SECRET_KEY": "<base64, 32 bytes>", "SESSION_SECRET": "<base64url, 32 bytes>" }
 * ```
 *
 * A random key per start would seal every enrolled secret under a key the
 * next start no longer has, and a random session secret would sign everybody
 * out at each restart. Delete the file together with the database, never
 * alone: without the key, the MFA records in the database cannot be opened.
 *
 * Several processes starting at once (two app servers on one SQLite file)
 * agree on one file: it is written under a temporary name and then linked
 * into place, which fails for all but the first; the others read the winner's.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseKey } from './config.ts';

export interface DevSecrets {
  secretKey: Uint8Array;
  sessionSecret: string;
  /** True when this call generated the file. */
  created: boolean;
  /** E.g. the file is readable by other users. */
  warnings: string[];
}

const MIN_KEY_BYTES = 32;
const MIN_SESSION_SECRET_CHARS = 32;

export class SecretsFileError extends Error {
  override name = 'SecretsFileError';
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** Parse and check the file's text; the message names the file and the field, never a value. */
function parse(file: string, text: string): { secretKey: Uint8Array; sessionSecret: string } {
  const fix = `remove ${file} together with the database, or set TWOFOLD_SECRET_KEY and SESSION_SECRET`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new SecretsFileError(`${file} is not valid JSON: ${fix}`);
  }
  const fields = (data ?? {}) as Record<string, unknown>;
  const key = typeof fields.TWOFOLD_SECRET_KEY === 'string' ? parseKey(fields.TWOFOLD_SECRET_KEY) : null;
  if (key === null || key.length < MIN_KEY_BYTES) throw new SecretsFileError(`${file}: TWOFOLD_SECRET_KEY is missing or too short: ${fix}`);
  const sessionSecret = fields.SESSION_SECRET;
  if (typeof sessionSecret !== 'string' || sessionSecret.length < MIN_SESSION_SECRET_CHARS) {
    throw new SecretsFileError(`${file}: SESSION_SECRET is missing or too short: ${fix}`);
  }
  return { secretKey: key, sessionSecret };
}

function read(file: string, created: boolean): DevSecrets {
  const warnings: string[] = [];
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    warnings.push(`${file} can be read by other users of this machine: chmod 600 ${file}`);
  }
  return { ...parse(file, readFileSync(file, 'utf8')), created, warnings };
}

/** The secrets kept in `file`, generated (mode 0600, directory 0700) when there is none yet. */
export function loadDevSecrets(file: string): DevSecrets {
  try {
    return read(file, false);
  } catch (error) {
    if (code(error) !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const text = `${JSON.stringify(
    { TWOFOLD_SECRET_KEY: randomBytes(32).toString('base64'), SESSION_SECRET: randomBytes(32).toString('base64url') },
    null,
    2,
  )}\n`;
  // Complete on disk under a private name first, then linked into place: nobody ever reads half a file.
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let created = true;
  try {
    linkSync(temporary, file);
  } catch (error) {
    if (code(error) !== 'EEXIST') throw error;
    created = false; // another process started at the same moment and won: use its secrets
  } finally {
    unlinkSync(temporary);
  }
  return read(file, created);
}
