import { createHash } from 'node:crypto';
import { MfaError } from '../../errors.ts';

/** Options of {@link RedisUserStore} and {@link RedisRecoveryCodeStore}. */
export interface RedisStoreOptions {
  /**
   * Starts every key the store writes. Default `'twofold:'`. At most 100
   * printable ASCII characters, without `{` or `}` (they would become the
   * Cluster hash tag and put every user in one slot). Comes after the
   * client's own ioredis `keyPrefix`, if it has one. Give both stores the
   * same prefix, and every app server too.
   */
  keyPrefix?: string;
}

const DEFAULT_PREFIX = 'twofold:';
const MAX_PREFIX_LENGTH = 100;

/** The validated key prefix of `options`. */
export function keyPrefix(options: RedisStoreOptions | undefined, caller: string): string {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new MfaError('invalid_option', `${caller}: options must be an object`);
  }
  const prefix: unknown = options?.keyPrefix === undefined ? DEFAULT_PREFIX : options.keyPrefix;
  if (typeof prefix !== 'string' || prefix.length > MAX_PREFIX_LENGTH || !/^[\x20-\x7e]*$/.test(prefix)) {
    throw new MfaError('invalid_option', `${caller}: keyPrefix must be a string of at most ${MAX_PREFIX_LENGTH} printable ASCII characters`);
  }
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new MfaError('invalid_option', `${caller}: keyPrefix must not contain "{" or "}" (a Redis Cluster hash tag)`);
  }
  return prefix;
}

/**
 * The key of one user's record (`kind` `'user'`) or recovery-code set
 * (`'codes'`): `<prefix><kind>:{<hex SHA-256 of the UTF-8 user id>}`.
 * User ids are arbitrary strings (NUL, 10 KB, `{}` that Cluster would read
 * as a hash tag, `*` and `:` that patterns and separators would); their hash
 * names any of them exactly, in 64 hex characters. The braces make the hash
 * the Cluster hash tag, so a user's two keys share a slot. An id that is not
 * well-formed UTF-16 (a lone surrogate) is refused: UTF-8 would encode it
 * lossily and two ids could share a key. To find a user's keys by hand:
 * `printf '%s' "$USER_ID" | sha256sum`.
 */
export function userKey(prefix: string, kind: 'user' | 'codes', userId: string): string {
  if (typeof userId !== 'string' || !userId.isWellFormed()) {
    throw new MfaError('invalid_argument', 'user ids must be well-formed strings');
  }
  return `${prefix}${kind}:{${createHash('sha256').update(userId, 'utf8').digest('hex')}}`;
}
