/**
 * `twofold/maintenance`: operations over every user at once, run by an
 * operator rather than on a request. Today: key rotation. After switching
 * `secretKey` to a new key (the old one in `previousSecretKeys`),
 * {@link rekeyAll} walks the store and moves each record to the new key as
 * far as it can without the user, and its report says how many records
 * still need each old key; {@link secretKeyId} names a key the way the
 * report does. The README's "Key rotation" gives the whole procedure.
 *
 * @example
 * ```ts
 * import { MfaService } from 'twofold';
 * import { PostgresUserStore, PostgresRecoveryCodeStore } from 'twofold/adapters/postgres';
 * import { rekeyAll, secretKeyId } from 'twofold/maintenance';
 *
 * const users = new PostgresUserStore(pool);
 * const mfa = new MfaService({
 *   issuer: 'Example App',
 *   secretKey: process.env.TWOFOLD_SECRET_KEY!,                  // the new key
 *   previousSecretKeys: [process.env.TWOFOLD_OLD_SECRET_KEY!],  // the old one, still accepted
 *   users,
 *   recoveryCodes: new PostgresRecoveryCodeStore(pool),
 * });
 * const report = await rekeyAll({ service: mfa, users });
 * console.log(report.dependsOn[secretKeyId(process.env.TWOFOLD_OLD_SECRET_KEY!)] ?? 0, 'users still need the old key');
 * ```
 *
 * @module twofold/maintenance
 */
export { rekeyAll, secretKeyId, type RekeyAllOptions, type RekeyAllProgress, type RekeyAllReport } from './rekey-all.ts';
