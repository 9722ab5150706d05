/**
 * The host's own users: usernames, password hashes and a session generation.
 * twofold never sees a password; it only learns the user id after the
 * password check passed. In memory, like the twofold stores of this example.
 */
import { randomBytes, randomUUID, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt parameters. Stored with each hash, so changing them keeps old hashes verifiable. */
export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** OWASP's recommendation for scrypt (about 128 MiB and a few hundred ms per hash). */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

export interface Account {
  /** Stable, opaque id given to twofold (never the username, which a user might change). */
  readonly id: string;
  readonly username: string;
  readonly email: string;
  /**
   * Bumped when every other session of this user must end (MFA enabled or
   * disabled); each session carries the value it was created with.
   */
  sessionGeneration: number;
}

interface PasswordHash extends ScryptCost {
  salt: Buffer;
  hash: Buffer;
}

interface StoredAccount extends Account {
  password: PasswordHash;
}

export type CreateAccountResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'invalid' | 'taken'; field: 'username' | 'password'; message: string };

const TAKEN: CreateAccountResult = { ok: false, reason: 'taken', field: 'username', message: 'That username is taken.' };

/** Usernames are case-insensitive: stored and compared in lower case. */
export function normalizeUsername(input: string): string {
  return input.trim().toLowerCase();
}

/** Why `username` (already normalized) is not acceptable, or null. */
export function usernameProblem(username: string): string | null {
  if (username.length < USERNAME_MIN) return `Username must be at least ${USERNAME_MIN} characters.`;
  if (username.length > USERNAME_MAX) return `Username must be at most ${USERNAME_MAX} characters.`;
  if (!/^[a-z0-9._-]+$/.test(username)) return 'Username may only contain letters a–z, digits, dots, underscores and hyphens.';
  return null;
}

/** Why `password` is not acceptable, or null. Length in characters (code points), as people count. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `Password must be at least ${PASSWORD_MIN} characters.`;
  if (length > PASSWORD_MAX) return `Password must be at most ${PASSWORD_MAX} characters.`;
  return null;
}

function scryptAsync(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  // maxmem above the 128·N·r bytes scrypt needs, so Node does not refuse the cost.
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
  // NFKC: the same password typed on another keyboard or OS hashes alike.
  const input = password.normalize('NFKC');
  return new Promise((resolve, reject) => {
    scrypt(input, salt, HASH_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export class Accounts {
  readonly #cost: ScryptCost;
  readonly #byId = new Map<string, StoredAccount>();
  readonly #idByUsername = new Map<string, string>();
  /** Checked when the username is unknown, so that case costs the same scrypt time as a wrong password. */
  readonly #decoy: PasswordHash;

  constructor(options: { scryptCost?: ScryptCost } = {}) {
    this.#cost = options.scryptCost ?? DEFAULT_SCRYPT_COST;
    this.#decoy = { ...this.#cost, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };
  }

  /** Sign up: validates, hashes the password with a random salt, refuses a taken username. */
  async create(usernameInput: string, password: string): Promise<CreateAccountResult> {
    const username = normalizeUsername(usernameInput);
    const usernameError = usernameProblem(username);
    if (usernameError) return { ok: false, reason: 'invalid', field: 'username', message: usernameError };
    const passwordError = passwordProblem(password);
    if (passwordError) return { ok: false, reason: 'invalid', field: 'password', message: passwordError };
    if (this.#idByUsername.has(username)) return TAKEN;

    const salt = randomBytes(SALT_BYTES);
    const hash = await scryptAsync(password, salt, this.#cost);
    // Checked again: another sign-up may have taken the name while we hashed.
    if (this.#idByUsername.has(username)) return TAKEN;
    const account: StoredAccount = {
      id: `user_${randomUUID()}`,
      username,
      email: `${username}@example.test`,
      sessionGeneration: 0,
      password: { ...this.#cost, salt, hash },
    };
    this.#byId.set(account.id, account);
    this.#idByUsername.set(username, account.id);
    return { ok: true, account };
  }

  /**
   * The account when `password` is right, else null. An unknown username
   * costs the same scrypt work and gives the same answer as a wrong password,
   * so neither the response nor its timing tells whether the user exists.
   */
  async checkPassword(usernameInput: string, password: string): Promise<Account | null> {
    const account = this.#byId.get(this.#idByUsername.get(normalizeUsername(usernameInput)) ?? '');
    const stored = account?.password ?? this.#decoy;
    const hash = await scryptAsync(password, stored.salt, stored);
    const match = hash.length === stored.hash.length && timingSafeEqual(hash, stored.hash);
    return account && match ? account : null;
  }

  byId(id: string): Account | undefined {
    return this.#byId.get(id);
  }

  byUsername(usernameInput: string): Account | undefined {
    return this.#byId.get(this.#idByUsername.get(normalizeUsername(usernameInput)) ?? '');
  }

  /** End every session of the user created before now; returns the generation to stamp on the current one. */
  endSessions(id: string): number {
    const account = this.#byId.get(id);
    if (!account) return 0;
    account.sessionGeneration += 1;
    return account.sessionGeneration;
  }
}
