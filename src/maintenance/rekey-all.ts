import { MfaError } from '../errors.ts';
import { createKeyRing } from '../seal.ts';
import type { MfaService } from '../service/mfa-service.ts';
import type { RekeyNeed } from '../service/results.ts';
import { MAX_SCAN_LIMIT } from '../stores/scan.ts';
import type { UserStore } from '../stores/types.ts';

/**
 * What {@link rekeyAll} found over the users it visited.
 *
 * @example
 * ```ts
 * import { rekeyAll, secretKeyId } from 'twofold/maintenance';
 *
 * const report = await rekeyAll({ service: mfa, users });
 * // { users: 1200, resealed: 1630, needsUser: { recovery_codes: 37, totp: 0 },
 * //   dependsOn: { '3f9a0c12': 37 }, unnamed: 0 }
 * const done = !(secretKeyId(OLD_KEY) in report.dependsOn) && report.unnamed === 0;
 * ```
 */
export interface RekeyAllReport {
  /** Users visited (their records were moved to the current key as far as possible). */
  users: number;
  /** Sealed values moved to the current key, over all those users. */
  resealed: number;
  /** Users with something only they can move, by what: `status().attention` tells them (`recovery_codes_rekey`, `totp_reenroll`). */
  needsUser: Record<RekeyNeed, number>;
  /**
   * For each key id other than the current one: how many users' records
   * still need it. A key whose id is absent is needed by none of them.
   */
  dependsOn: Record<string, number>;
  /**
   * Records the store holds without knowing whose they are (written before
   * the adapter kept user ids), so they were not visited: they may need any
   * old key. Walk your own user ids once (`userIds`) to reach them; each is
   * named when `rekey` writes it.
   */
  unnamed: number;
}

/**
 * What {@link RekeyAllOptions.onProgress} is told after each page.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { rekeyAll } from 'twofold/maintenance';
 *
 * await rekeyAll({
 *   service: mfa,
 *   users,
 *   onProgress: ({ report, cursor, needsUser }) => {
 *     writeFileSync('rekey-checkpoint.json', JSON.stringify({ report, cursor }));
 *     for (const { userId, needs } of needsUser) console.log(userId, 'must act:', needs.join(', '));
 *   },
 * });
 * ```
 */
export interface RekeyAllProgress {
  /** The totals so far (including a `report` the walk was resumed with). */
  report: RekeyAllReport;
  /**
   * Where to resume after this page: pass it back as `cursor`, with
   * `report`. Null when the walk is complete, and in a walk over `userIds`.
   */
  cursor: string | null;
  /** This page's users with something only they can move. */
  needsUser: Array<{ userId: string; needs: RekeyNeed[] }>;
}

/**
 * Options of {@link rekeyAll}: the service, and either a store to scan or
 * the host's own user ids.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { rekeyAll } from 'twofold/maintenance';
 *
 * // Resume a walk that stopped, from its last checkpoint.
 * const { report, cursor } = JSON.parse(readFileSync('rekey-checkpoint.json', 'utf8'));
 * await rekeyAll({ service: mfa, users, limit: 500, cursor, report });
 *
 * // Or walk your own user table (a store without scan, or records it cannot name).
 * await rekeyAll({ service: mfa, userIds: db.allUserIds() });
 * ```
 */
export interface RekeyAllOptions {
  /** The service, configured with the new `secretKey` and the old keys in `previousSecretKeys`. */
  service: Pick<MfaService, 'rekey'>;
  /** The store to walk with its `scan` (every adapter of twofold has one). Give this or `userIds`. */
  users?: UserStore;
  /** Your own user ids instead of a store scan: for a store without `scan`, or to reach `unnamed` records. */
  userIds?: Iterable<string> | AsyncIterable<string>;
  /** Users per page (a page is scanned, rekeyed one by one, then reported). Default 100, at most 10,000. */
  limit?: number;
  /** Resume a scan after the page whose progress gave this cursor. */
  cursor?: string | null;
  /** The totals of the walk so far, from the same progress: the final report then covers the whole walk. */
  report?: RekeyAllReport;
  /** Called after every page; persist `cursor` and `report` to resume after a crash. */
  onProgress?: (progress: RekeyAllProgress) => void | Promise<void>;
}

const DEFAULT_LIMIT = 100;

function emptyReport(): RekeyAllReport {
  return { users: 0, resealed: 0, needsUser: { recovery_codes: 0, totp: 0 }, dependsOn: {}, unnamed: 0 };
}

function copyReport(report: RekeyAllReport): RekeyAllReport {
  return { ...report, needsUser: { ...report.needsUser }, dependsOn: { ...report.dependsOn } };
}

function checkOptions(options: RekeyAllOptions): void {
  if (typeof options !== 'object' || options === null) throw new MfaError('invalid_option', 'rekeyAll: options must be an object');
  if (typeof options.service?.rekey !== 'function') throw new MfaError('invalid_option', 'rekeyAll: `service` must be an MfaService');
  if ((options.users === undefined) === (options.userIds === undefined)) {
    throw new MfaError('invalid_option', 'rekeyAll: give exactly one of `users` (a store to scan) and `userIds`');
  }
  if (options.users !== undefined && typeof options.users?.scan !== 'function') {
    throw new MfaError('invalid_option', 'rekeyAll: this UserStore has no scan; pass your own user ids as `userIds`');
  }
  if (options.userIds !== undefined && (options.cursor ?? null) !== null) {
    throw new MfaError('invalid_option', 'rekeyAll: `cursor` resumes a store scan; a walk over `userIds` has none');
  }
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_SCAN_LIMIT) {
    throw new MfaError('invalid_option', `rekeyAll: \`limit\` must be an integer from 1 to ${MAX_SCAN_LIMIT}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new MfaError('invalid_option', 'rekeyAll: `onProgress` must be a function');
  }
}

/**
 * Key rotation over every user: calls `service.rekey` for each user the
 * store's `scan` finds (or each of `userIds`), one page at a time, and
 * reports after every page (with a cursor to resume from) and at the end.
 * Each `rekey` re-seals under the current key what it can without the
 * user; the report says how many records still need each old key, and
 * how many users must act themselves. Drop an old key once a complete walk
 * reports it in no `dependsOn` and `unnamed` is 0. Idempotent: run it again
 * at any time. Users are visited one after another; a store error stops
 * the walk (resume from the last progress). A user id that comes again in
 * the same call (Redis's SCAN may repeat a key while Redis shrinks its
 * table; a repeated id in `userIds`) is visited and counted once: the call
 * keeps the ids it has visited (tens of bytes each), so walk a store of many
 * millions in several calls with `cursor` and `report` (a repeat across
 * calls is then counted again; rekeying it again changes nothing).
 *
 * @throws {MfaError} `invalid_option` for missing or contradictory options
 *   (a store without `scan` needs `userIds`); store errors propagate.
 * @example
 * ```ts
 * import { MfaService } from 'twofold';
 * import { rekeyAll, secretKeyId } from 'twofold/maintenance';
 *
 * const mfa = new MfaService({ ...options, secretKey: NEW_KEY, previousSecretKeys: [OLD_KEY] });
 * const report = await rekeyAll({
 *   service: mfa,
 *   users: options.users,
 *   onProgress: ({ report, cursor }) => saveCheckpoint({ report, cursor }),
 * });
 * const stillNeeded = report.dependsOn[secretKeyId(OLD_KEY)] ?? 0;
 * if (stillNeeded === 0 && report.unnamed === 0) console.log('OLD_KEY may be dropped');
 * ```
 */
export async function rekeyAll(options: RekeyAllOptions): Promise<RekeyAllReport> {
  checkOptions(options);
  const limit = options.limit ?? DEFAULT_LIMIT;
  const report = options.report === undefined ? emptyReport() : copyReport(options.report);
  const { service, onProgress } = options;
  // Each user once per call: Redis's SCAN may return a key again when Redis shrinks its table during the walk.
  const visited = new Set<string>();

  async function visit(userIds: readonly string[], unnamed: number, cursor: string | null): Promise<void> {
    const needsUser: RekeyAllProgress['needsUser'] = [];
    for (const userId of userIds) {
      if (visited.has(userId)) continue;
      visited.add(userId);
      const result = await service.rekey(userId);
      report.users++;
      report.resealed += result.resealed;
      for (const keyId of result.dependsOn) report.dependsOn[keyId] = (report.dependsOn[keyId] ?? 0) + 1;
      for (const need of result.needsUser) report.needsUser[need]++;
      if (result.needsUser.length > 0) needsUser.push({ userId, needs: [...result.needsUser] });
    }
    report.unnamed += unnamed;
    await onProgress?.({ report: copyReport(report), cursor, needsUser });
  }

  if (options.users !== undefined) {
    const store = options.users;
    let cursor = options.cursor ?? null;
    do {
      const page = await store.scan!(cursor, limit);
      if (typeof page !== 'object' || page === null || !Array.isArray(page.userIds)) {
        throw new MfaError('store_contract', 'UserStore.scan must resolve to { userIds, cursor }');
      }
      cursor = page.cursor;
      await visit(page.userIds, page.unnamed ?? 0, cursor);
    } while (cursor !== null);
  } else {
    let batch: string[] = [];
    for await (const userId of options.userIds!) {
      batch.push(userId);
      if (batch.length === limit) {
        await visit(batch, 0, null);
        batch = [];
      }
    }
    if (batch.length > 0) await visit(batch, 0, null);
  }
  return report;
}

/**
 * The key id of a root key (as `secretKey` takes it): the id sealed values
 * and {@link RekeyAllReport.dependsOn} name it by. Reveals nothing about the
 * key (an independent HKDF output).
 *
 * @throws {MfaError} `weak_secret_key` or `invalid_option` as the service's `secretKey`.
 * @example
 * ```ts
 * import { secretKeyId } from 'twofold/maintenance';
 *
 * console.log(secretKeyId(process.env.TWOFOLD_OLD_SECRET_KEY!)); // e.g. '3f9a0c12'
 * ```
 */
export function secretKeyId(secretKey: Uint8Array | string): string {
  return createKeyRing({ secretKey }).currentKeyId;
}
