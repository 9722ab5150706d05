import { createHash } from 'node:crypto';
import { MfaError } from '../errors.ts';

/**
 * The row key of a user id in the SQL adapters (PostgreSQL, SQLite,
 * MySQL): SHA-256 of its UTF-8 bytes. User ids are arbitrary strings (NULs,
 * case and trailing-space variants, 10 KB), while SQL text columns reject
 * NUL, compare through collations and cap index keys at a few KB; 32 bytes
 * of hash key any id exactly. An id that is not well-formed UTF-16 (a lone
 * surrogate) is refused, because UTF-8 would encode it lossily and two ids
 * could share a key. In SQL: `sha256(convert_to(user_id, 'UTF8'))`
 * (PostgreSQL), `UNHEX(SHA2(user_id, 256))` (MySQL, utf8mb4).
 */
export function userKey(userId: string): Buffer {
  if (typeof userId !== 'string' || !userId.isWellFormed()) {
    throw new MfaError('invalid_argument', 'user ids must be well-formed strings');
  }
  return createHash('sha256').update(userId, 'utf8').digest();
}

/** {@link userKey} as hex, for SQL that unhexes it (`UNHEX(?)`), so what is stored never depends on the connection's character set. */
export function userKeyHex(userId: string): string {
  return userKey(userId).toString('hex');
}
