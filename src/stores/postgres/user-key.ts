import { createHash } from 'node:crypto';
import { MfaError } from '../../errors.ts';

/**
 * The row key of a user id: SHA-256 of its UTF-8 bytes. User ids are
 * arbitrary strings, but a `text` column cannot hold NUL and a btree entry
 * cannot exceed about 2.7 KB; 32 bytes of hash key any id exactly. An id
 * that is not well-formed UTF-16 (a lone surrogate) is refused, because
 * UTF-8 would encode it lossily and two ids could share a key. In SQL, for
 * an id without NUL: `sha256(convert_to(user_id, 'UTF8'))`.
 */
export function userKey(userId: string): Buffer {
  if (typeof userId !== 'string' || !userId.isWellFormed()) {
    throw new MfaError('invalid_argument', 'user ids must be well-formed strings');
  }
  return createHash('sha256').update(userId, 'utf8').digest();
}
