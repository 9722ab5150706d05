/**
 * Password hashes of the example's accounts, as self-describing strings (the
 * PHC string format), so the parameters travel with each hash and can change
 * without breaking the hashes already stored:
 *
 * - `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`: what every new password
 *   gets. Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane;
 *   `@node-rs/argon2`, a random 16-byte salt per hash).
 * - `$scrypt$ln=17,r=8,p=1$<salt>$<hash>`: what the example used before
 *   (scrypt, N = 2^ln). Still verified; on the next right password the
 *   account is re-hashed with Argon2id (accounts.ts, `needsRehash`).
 *
 * Passwords are NFKC-normalized first, so the same password typed on another
 * keyboard or OS hashes alike. twofold never sees a password.
 */
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Argon2id parameters: memory in KiB, passes, lanes. */
export interface Argon2Cost {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's first recommendation for Argon2id: m = 19 MiB (19456 KiB), t = 2, p = 1. */
export const DEFAULT_ARGON2_COST: Argon2Cost = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** scrypt parameters of the hashes the example wrote before Argon2id (N = 2^17, about 128 MiB). */
export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

export const LEGACY_SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

const ARGON2ID = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;
const SCRYPT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function normalize(password: string): string {
  return password.normalize('NFKC');
}

/** A new Argon2id hash of `password` with `cost` and a random salt. */
export async function hashPassword(password: string, cost: Argon2Cost = DEFAULT_ARGON2_COST): Promise<string> {
  // @node-rs/argon2's default algorithm is Argon2id (checked below, so a change of default cannot slip through).
  const hashed = await argon2Hash(normalize(password), { ...cost, outputLen: 32 });
  if (!ARGON2ID.test(hashed)) throw new Error('passwords: @node-rs/argon2 did not produce an Argon2id hash');
  return hashed;
}

/**
 * Whether `password` matches `stored` (either format). A string in neither
 * format never matches, after the same work as a wrong password.
 */
export async function verifyPassword(stored: string, password: string, decoy: string): Promise<boolean> {
  const input = normalize(password);
  if (ARGON2ID.test(stored)) return argon2Verify(stored, input);
  const scryptParts = SCRYPT.exec(stored);
  if (scryptParts !== null) {
    const cost = { N: 2 ** Number(scryptParts[1]), r: Number(scryptParts[2]), p: Number(scryptParts[3]) };
    const salt = Buffer.from(scryptParts[4]!, 'base64');
    const expected = Buffer.from(scryptParts[5]!, 'base64');
    const actual = await scryptAsync(input, salt, expected.length, cost);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
  // Unknown format: spend the decoy's work and say no.
  await argon2Verify(decoy, input);
  return false;
}

/** Whether `stored` should be replaced by a fresh hash (another algorithm, or other parameters) after a right password. */
export function needsRehash(stored: string, cost: Argon2Cost = DEFAULT_ARGON2_COST): boolean {
  const parts = ARGON2ID.exec(stored);
  if (parts === null) return true;
  return Number(parts[1]) !== cost.memoryCost || Number(parts[2]) !== cost.timeCost || Number(parts[3]) !== cost.parallelism;
}

/**
 * A hash of a random password with `cost`: verified instead of a real one when
 * the user is unknown, so that case costs the same Argon2id work (and gets
 * the same answer) as a wrong password.
 */
export function decoyHash(cost: Argon2Cost = DEFAULT_ARGON2_COST): Promise<string> {
  return hashPassword(randomBytes(24).toString('base64url'), cost);
}

function scryptAsync(input: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  // maxmem above the 128·N·r bytes scrypt needs, so Node does not refuse the cost.
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(input, salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * A hash in the example's former scrypt format (`$scrypt$ln=…`). Nothing
 * writes these any more; the tests make them to check that such accounts
 * still sign in and are upgraded.
 */
export async function legacyScryptHash(password: string, cost: ScryptCost = LEGACY_SCRYPT_COST): Promise<string> {
  const ln = Math.log2(cost.N);
  if (!Number.isInteger(ln)) throw new Error('scrypt N must be a power of two');
  const salt = randomBytes(16);
  const hash = await scryptAsync(normalize(password), salt, 32, cost);
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(hash)}`;
}
