/**
 * The host's own users: usernames, password hashes, a session generation and
 * a pending password reset. twofold never sees a password; it only learns
 * the user id after the password check passed. In memory, like the twofold
 * stores of this example.
 */
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

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
/** How long an emailed password-reset link works. */
export const PASSWORD_RESET_TTL_MS = 60 * 60_000;

export interface Account {
  /** Stable, opaque id given to twofold (never the username, which a user might change). */
  readonly id: string;
  readonly username: string;
  readonly email: string;
  /**
   * Bumped when every other session of this user must end (MFA enabled or
   * disabled, password changed or reset); each session carries the value it was created with.
   */
  sessionGeneration: number;
}

interface PasswordHash extends ScryptCost {
  salt: Buffer;
  hash: Buffer;
}

/**
 * A pending password reset: only the SHA-256 of the emailed token is kept,
 * so someone who reads the accounts (a backup, a debug dump) cannot use it.
 * The token is 256 random bits, so a fast hash is enough (no salt, no scrypt).
 */
interface PasswordReset {
  tokenHash: Buffer;
  expiresAt: number;
}

interface StoredAccount extends Account {
  password: PasswordHash;
  /** At most one: a newer request replaces the older. */
  reset: PasswordReset | null;
}

export type CreateAccountResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'invalid' | 'taken'; field: 'username' | 'password'; message: string };

export type ResetPasswordResult =
  | { ok: true; account: Account }
  /** `invalid`: unknown user, wrong, used or replaced token; `weak`: the new password breaks the rules (the token stays usable). */
  | { ok: false; reason: 'invalid' | 'expired' | 'weak'; message: string };

export type ChangePasswordResult =
  | { ok: true; account: Account }
  /** `wrong`: the current password is not right (count it); `weak`: the new one breaks the rules; `same`: it is the current one. */
  | { ok: false; reason: 'wrong' | 'weak' | 'same'; message: string };

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

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
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
  readonly #idByEmail = new Map<string, string>();
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
      reset: null,
    };
    this.#byId.set(account.id, account);
    this.#idByUsername.set(username, account.id);
    this.#idByEmail.set(account.email, account.id);
    return { ok: true, account };
  }

  /**
   * The account when `password` is right, else null. An unknown username
   * costs the same scrypt work and gives the same answer as a wrong password,
   * so neither the response nor its timing tells whether the user exists.
   */
  async checkPassword(usernameInput: string, password: string): Promise<Account | null> {
    const account = this.#byUsername(usernameInput);
    const match = await this.#matches(account?.password ?? this.#decoy, password);
    return account && match ? account : null;
  }

  /**
   * Whether `password` is the signed-in user's (id) password: the re-check
   * before sensitive actions (reauth.ts). Same scrypt work as a login.
   */
  async verifyPassword(id: string, password: string): Promise<boolean> {
    const account = this.#byId.get(id);
    const match = await this.#matches(account?.password ?? this.#decoy, password);
    return account !== undefined && match;
  }

  async #matches(stored: PasswordHash, password: string): Promise<boolean> {
    const hash = await scryptAsync(password, stored.salt, stored);
    return hash.length === stored.hash.length && timingSafeEqual(hash, stored.hash);
  }

  byId(id: string): Account | undefined {
    return this.#byId.get(id);
  }

  byUsername(usernameInput: string): Account | undefined {
    return this.#byUsername(usernameInput);
  }

  #byUsername(usernameInput: string): StoredAccount | undefined {
    return this.#byId.get(this.#idByUsername.get(normalizeUsername(usernameInput)) ?? '');
  }

  /** The account with this username or (when it has an `@`) this email address, case-insensitive. */
  byUsernameOrEmail(input: string): Account | undefined {
    const key = input.trim().toLowerCase();
    return key.includes('@') ? this.#byId.get(this.#idByEmail.get(key) ?? '') : this.byUsername(key);
  }

  /**
   * Start a password reset: a new random single-use token (returned once, to
   * be emailed) whose hash replaces any earlier one, so only the newest link
   * works. Undefined for an unknown id, after the same work, so the time
   * taken does not tell whether the account exists.
   */
  startPasswordReset(id: string | undefined, now: number): { token: string; expiresAt: number } | undefined {
    const token = randomBytes(32).toString('base64url');
    const reset: PasswordReset = { tokenHash: sha256(token), expiresAt: now + PASSWORD_RESET_TTL_MS };
    const account = this.#byId.get(id ?? '');
    if (account === undefined) return undefined;
    account.reset = reset;
    return { token, expiresAt: reset.expiresAt };
  }

  /** Whether the reset link (username, token) works now, without using it up: for showing the form. */
  checkPasswordReset(usernameInput: string, token: string, now: number): 'ok' | 'invalid' | 'expired' {
    return this.#resetState(this.#byUsername(usernameInput), token, now);
  }

  /**
   * Finish a password reset: the token must be the newest one of that user
   * and unexpired. It is used up before the new password is hashed (so two
   * concurrent submits cannot both use it); a new password that breaks the
   * sign-up rules is refused first and leaves the token usable. Ending
   * sessions and locks is the caller's job (routes/password-reset.ts).
   */
  async resetPassword(usernameInput: string, token: string, newPassword: string, now: number): Promise<ResetPasswordResult> {
    const account = this.#byUsername(usernameInput);
    const state = this.#resetState(account, token, now);
    if (state === 'invalid') return { ok: false, reason: 'invalid', message: 'This password reset link is not valid.' };
    if (state === 'expired') return { ok: false, reason: 'expired', message: 'This password reset link has expired.' };
    const problem = passwordProblem(newPassword);
    if (problem) return { ok: false, reason: 'weak', message: problem };
    account!.reset = null;
    const salt = randomBytes(SALT_BYTES);
    const hash = await scryptAsync(newPassword, salt, this.#cost);
    account!.password = { ...this.#cost, salt, hash };
    return { ok: true, account: account! };
  }

  /**
   * A signed-in user's new password: the current one must be right (the same
   * scrypt verify as a login), the new one must follow the sign-up rules and
   * differ from it. Ending sessions and forgetting remembered browsers is the
   * caller's job (routes/password-change.ts).
   */
  async changePassword(id: string, currentPassword: string, newPassword: string): Promise<ChangePasswordResult> {
    const problem = passwordProblem(newPassword);
    if (problem) return { ok: false, reason: 'weak', message: problem };
    const account = this.#byId.get(id);
    const match = await this.#matches(account?.password ?? this.#decoy, currentPassword);
    if (account === undefined || !match) return { ok: false, reason: 'wrong', message: 'Your current password is not right.' };
    if (newPassword.normalize('NFKC') === currentPassword.normalize('NFKC')) {
      return { ok: false, reason: 'same', message: 'The new password is your current one. Choose another.' };
    }
    const salt = randomBytes(SALT_BYTES);
    const hash = await scryptAsync(newPassword, salt, this.#cost);
    account.password = { ...this.#cost, salt, hash };
    return { ok: true, account };
  }

  #resetState(account: StoredAccount | undefined, token: string, now: number): 'ok' | 'invalid' | 'expired' {
    const reset = account?.reset ?? null;
    // Both sides are SHA-256 digests: equal lengths, compared in constant time.
    if (reset === null || token === '' || !timingSafeEqual(sha256(token), reset.tokenHash)) return 'invalid';
    return reset.expiresAt > now ? 'ok' : 'expired';
  }

  /** End every session of the user created before now; returns the generation to stamp on the current one. */
  endSessions(id: string): number {
    const account = this.#byId.get(id);
    if (!account) return 0;
    account.sessionGeneration += 1;
    return account.sessionGeneration;
  }
}
