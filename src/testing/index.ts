/**
 * `twofold/testing`: the conformance suite every store adapter must pass,
 * ours (memory, PostgreSQL, Redis) and third parties'.
 *
 * The service holds every rule; a store only has to persist exactly and
 * offer two atomic primitives: compare-and-set on a user record's version
 * and consume-once on a recovery-code hash. A store that gets either wrong
 * does not fail loudly: it lets a TOTP code or a recovery code be used
 * twice when two requests race. So the suite checks each contract of
 * {@link UserStore} and {@link RecoveryCodeStore} directly, races 50
 * parallel callers on one record and one hash, feeds the adapter user ids
 * built to break escaping and collation, and finally runs
 * `MfaService` over the adapter end to end, races included.
 *
 * vitest is a peer dependency of this entry point: `runStoreConformance`
 * registers `describe`/`it` blocks, so call it at the top level of a
 * vitest test file.
 *
 * @example
 * ```ts
 * // test/my-store.test.ts
 * import { runStoreConformance } from 'twofold/testing';
 * import { createPool, MyUserStore, MyRecoveryCodeStore } from '../src/index.js';
 *
 * const url = process.env.DATABASE_URL;
 *
 * runStoreConformance({
 *   name: 'my-store',
 *   skip: url ? false : 'DATABASE_URL is not set',
 *   // Fresh, empty, isolated stores for every test.
 *   makeStores: async () => {
 *     const schema = `conformance_${crypto.randomUUID().replaceAll('-', '')}`;
 *     const pool = await createPool(url!, { schema });
 *     return {
 *       users: new MyUserStore(pool),
 *       recoveryCodes: new MyRecoveryCodeStore(pool),
 *       cleanup: async () => {
 *         await pool.query(`DROP SCHEMA ${schema} CASCADE`);
 *         await pool.end();
 *       },
 *     };
 *   },
 *   concurrency: 50,
 * });
 * ```
 *
 * A skipped suite shows up as skipped tests and prints its reason; make CI
 * provide the server rather than let it skip.
 *
 * @module twofold/testing
 */
import type { RecoveryCodeStore, UserStore } from '../stores/types.ts';

export { runStoreConformance, type ConformanceStores, type StoreConformanceOptions } from './conformance.ts';
export { awkwardUserIds, sampleRecord } from './fixtures.ts';
