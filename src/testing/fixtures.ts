import { createHash } from 'node:crypto';
import type { MfaRecord } from '../stores/types.ts';

/**
 * A valid {@link MfaRecord} with every field populated (an enabled user
 * with an authenticator app and a security key, pending enrollments of
 * both kinds, a lock, spent challenges and a pending email recovery), so a round trip through a store exercises every field shape:
 * sealed-looking strings, unicode, large integers, a nested object and an
 * array of objects. Each call returns a fresh object; `overrides` replace
 * top-level fields.
 *
 * @example
 * ```ts
 * import { MemoryUserStore } from 'twofold';
 * import { sampleRecord } from 'twofold/testing';
 *
 * const users = new MemoryUserStore();
 * await users.put('alice', sampleRecord({ failures: 4 }), null);
 * ```
 */
export function sampleRecord(overrides: Partial<MfaRecord> = {}): MfaRecord {
  return {
    schema: 2,
    factors: [
      {
        id: 'Hk3n0Yp_Qx2aV7Lw9zR4sA',
        kind: 'totp',
        label: 'Téléphone 📱 "work"',
        createdAt: 1_700_000_000_123,
        lastUsedAt: 1_700_000_900_000,
        secret: 'v1.k0.8Jq2fQ9b0cXo3mZrUeY1Tg-_Wd5vHnKpLsA7iBtC',
        algorithm: 'SHA512',
        digits: 8,
        period: 60,
        lastStep: 58_800_000,
      },
      {
        id: 'b9Tq1Zm-Kc8Wd0Ye2Xf5Ug',
        kind: 'webauthn',
        label: 'YubiKey 5C \\ back',
        createdAt: 1_700_000_100_000,
        lastUsedAt: null,
        credentialId: 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA',
        publicKey: 'pQECAyYgASFYIBRx0ZXN0LWtleS1ub3QtcmVhbC14eXoiWCAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw',
        signCount: 4_294_967_295,
        transports: ['usb', 'nfc'],
        backupEligible: false,
        backedUp: false,
      },
    ],
    pendingTotp: {
      secret: 'v1.k1.Qm9ndXMtcGVuZGluZy1zZWNyZXQtZm9yLXRlc3Rz',
      expiresAt: 1_700_000_600_123,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
      label: null,
      factorEpoch: 6,
    },
    pendingWebAuthn: { challengeHash: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg', expiresAt: 1_700_000_300_000, label: 'Clé', factorEpoch: 7 },
    webauthnUserHandle: 'u7Qx2aV7Lw9zR4sAHk3n0Yp_Qx2aV7Lw9zR4sAHk3n0',
    accountName: 'Zoë Ångström 🔐 "quoted" \\ back',
    enabledAt: 1_700_000_000_123,
    lastMfaAt: 1_700_000_900_000,
    recoveryCodeSet: 'k3x9Q0Zb_mWf-2LrTcYv1A',
    recoveryCodeKeyIds: ['0a1b2c3d', 'e95fb5bd'],
    recoveryCodeGeneration: 3,
    unrevealedCodes: 'v1.k0.c2VhbGVkLXJlY292ZXJ5LWNvZGVzLXBsYWludGV4dA',
    recoveryCodesCreatedAt: 1_700_000_000_456,
    failures: 3,
    failuresSinceSuccess: 17,
    lockCount: 2,
    lockedUntil: 1_700_003_600_000,
    lockedIndefinitely: false,
    lockReason: "support: l'utilisateur a dit « non » \u0000 \n\t עברית",
    lockCause: 'failures',
    challengeEpoch: 41,
    spentChallenges: [
      { id: 'AAAAAAAAAAAAAAAAAAAAAA', expiresAt: 1_700_000_300_000 },
      { id: 'zzzzzzzzzzzzzzzzzzzzzz', expiresAt: 1_700_000_300_001 },
    ],
    factorEpoch: 7,
    emailRecovery: {
      tokenHash: 'a'.repeat(64),
      requestedAt: 1_700_000_000_000,
      notBefore: 1_700_086_400_000,
      expiresAt: 1_700_259_200_000,
      status: 'pending',
    },
    devices: [
      {
        id: 'Dv4kQ9b0cXo3mZrUeY1TgA',
        label: 'Firefox on Linux — « maison »',
        tokenHash: 'Wn3Hc1yN6bq3Zp0LxR7kV2mA9sT4uE8iO5fJ1dG6hY0',
        rotatedAt: null,
        createdAt: 1_700_000_000_789,
        lastUsedAt: 1_700_000_500_000,
        expiresAt: 1_702_592_000_789,
      },
    ],
    ...overrides,
  };
}

/** `length` characters that no compression or prefix index can shorten, the same on every run. */
function incompressible(length: number, seed: string): string {
  let out = '';
  let block = seed;
  while (out.length < length) {
    block = createHash('sha256').update(block).digest('base64url');
    out += block;
  }
  return out.slice(0, length);
}

const LONG_ID = `${incompressible(10_239, 'twofold/awkward-long-id')}a`;

/**
 * User ids that break adapters which escape, collate, truncate, trim,
 * case-fold, normalize or pattern-match keys: SQL and Lua/Redis
 * metacharacters, NULs, whitespace, unicode (combining marks, RTL, emoji),
 * JavaScript prototype names, and ids that differ from each other only by a
 * trailing NUL, case, a trailing space, Unicode normalization or their last
 * character of 10 KB. Every entry is distinct and a valid service user id
 * (non-empty, well-formed, at most 16,384 UTF-16 units); a store must keep
 * each one exactly and never confuse two of them.
 *
 * @example
 * ```ts
 * import { awkwardUserIds, sampleRecord } from 'twofold/testing';
 *
 * for (const id of awkwardUserIds) await users.put(id, sampleRecord({ accountName: id }), null);
 * for (const id of awkwardUserIds) console.assert((await users.get(id))?.version === 1, id);
 * ```
 */
export const awkwardUserIds: readonly string[] = Object.freeze([
  // SQL quoting and injection
  "'",
  '"',
  '\\',
  "O'Brien",
  '"quoted"',
  'back\\slash',
  "\\'",
  "''",
  "'; DROP TABLE users; --",
  "' OR '1'='1",
  '$1',
  '?',
  // LIKE / glob patterns
  '%',
  '_',
  'us%',
  'u_er',
  '[a-z]*',
  // NUL and control characters
  '\u0000',
  'user\u0000',
  '\u0000user',
  'us\u0000er',
  '\\x00',
  'line\nbreak',
  'line\r\nbreak',
  'tab\tbed',
  // case, whitespace, normalization: distinct ids
  'user',
  'User',
  'USER',
  'user ',
  ' user',
  'straße',
  'STRASSE',
  'e\u0301',
  '\u00e9',
  '\u200Buser',
  '\uFEFFuser',
  // unicode, RTL, emoji
  'émoji 🔐👩‍💻',
  '\u202Eresu',
  'مستخدم',
  'משתמש',
  '用户',
  // Redis / Lua / key separators
  '{}',
  '{user}',
  '*',
  'user:*',
  'a:b',
  ':',
  'twofold:users:user',
  'KEYS *',
  '${id}',
  // paths, markup, numbers and JavaScript names
  '../../etc/passwd',
  'a/b',
  'a.b',
  '<script>alert(1)</script>',
  '0',
  '1',
  '01',
  '1.0',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  // 10 KB, and the same but for the last character
  LONG_ID,
  `${LONG_ID.slice(0, -1)}b`,
]);
