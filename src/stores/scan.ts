/**
 * What every adapter's `UserStore.scan` checks the same way: the page size,
 * and the cursor of the SQL adapters (the hex of the last row key seen,
 * rows being keyed and ordered by the 32-byte SHA-256 of the user id).
 */
import { MfaError } from '../errors.ts';

/** The largest page a scan serves. */
export const MAX_SCAN_LIMIT = 10_000;

/** `limit` as an integer from 1 to 10,000. @throws {MfaError} `invalid_argument` otherwise. */
export function checkScanLimit(limit: unknown, caller: string): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_SCAN_LIMIT) {
    throw new MfaError('invalid_argument', `${caller}: limit must be an integer from 1 to ${MAX_SCAN_LIMIT}`);
  }
  return limit;
}

const KEY_CURSOR = /^[0-9a-f]{64}$/;

/** The row key a SQL adapter's cursor names (null: from the start). @throws {MfaError} `invalid_argument` for anything else. */
export function keyCursor(cursor: unknown, caller: string): Buffer | null {
  if (cursor === null) return null;
  if (typeof cursor !== 'string' || !KEY_CURSOR.test(cursor)) {
    throw new MfaError('invalid_argument', `${caller}: cursor must be null or a cursor an earlier page returned`);
  }
  return Buffer.from(cursor, 'hex');
}

/** A user id as the SQL adapters keep it beside its key: its UTF-8 bytes (NULs included, so a byte column). */
export function userIdBytes(userId: string): Buffer {
  return Buffer.from(userId, 'utf8');
}
