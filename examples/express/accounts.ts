/**
 * The host's own users: usernames, password hashes, a session generation and
 * a pending password reset. twofold never sees a password; it only learns
 * the user id after the password check passed. The rules live here; the
 * rows live in an {@link AccountStore} (account-store.ts): the same database
 * as twofold's tables and the sessions (stores.ts), or memory in tests.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AccountRecord, AccountStore, EmailRecoveryNote } from './account-store.ts';
import { decoyHash, DEFAULT_ARGON2_COST, hashPassword, needsRehash, verifyPassword, type Argon2Cost } from './passwords.ts';

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
/** How long an emailed password-reset link works. */
export const PASSWORD_RESET_TTL_MS = 60 * 60_000;

/** What the routes see of an account: a snapshot, never the password hash or the reset token. */
export interface Account {
  /** Stable, opaque id given to twofold (never the username, which a user might change). */
  readonly id: string;
  readonly username: string;
  readonly email: string;
  /**
   * When the account was read: bumped (in the store) whenever every other
   * session of this user must end (MFA enabled or disabled, password changed
   * or reset); each session carries the value it was created with.
   */
  readonly sessionGeneration: number;
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

/**
 * The SHA-256 (hex) of a reset token: only this is stored, so someone who
 * reads the accounts (a backup, a debug dump) cannot use a pending link. The
 * token is 256 random bits, so a fast hash is enough (no salt, no Argon2).
 */
export function resetTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function snapshot(record: AccountRecord): Account {
  return { id: record.id, username: record.username, email: record.email, sessionGeneration: record.sessionGeneration };
}

export class Accounts {
  /** Where the rows live (tests look inside). */
  readonly store: AccountStore;
  readonly #cost: Argon2Cost;
  /**
   * Verified when the username is unknown, so that case costs the same
   * Argon2id work as a wrong password. Made at construction, so not even the
   * first unknown username costs the extra hash.
   */
  readonly #decoy: Promise<string>;

  constructor(store: AccountStore, options: { passwordCost?: Argon2Cost } = {}) {
    this.store = store;
    this.#cost = options.passwordCost ?? DEFAULT_ARGON2_COST;
    this.#decoy = decoyHash(this.#cost);
    // Awaited by every check; this only keeps a failure from being reported as unhandled before that.
    this.#decoy.catch(() => {});
  }

  /** Sign up: validates, hashes the password (Argon2id, random salt), refuses a taken username. */
  async create(usernameInput: string, password: string): Promise<CreateAccountResult> {
    const username = normalizeUsername(usernameInput);
    const usernameError = usernameProblem(username);
    if (usernameError) return { ok: false, reason: 'invalid', field: 'username', message: usernameError };
    const passwordError = passwordProblem(password);
    if (passwordError) return { ok: false, reason: 'invalid', field: 'password', message: passwordError };
    if ((await this.store.byUsername(username)) !== undefined) return TAKEN;

    const record = { id: `user_${randomUUID()}`, username, email: `${username}@example.test`, passwordHash: await hashPassword(password, this.#cost) };
    // The table's unique username decides: another sign-up (here or in another process) may have taken it while we hashed.
    if (!(await this.store.insert(record))) return TAKEN;
    return { ok: true, account: { id: record.id, username, email: record.email, sessionGeneration: 0 } };
  }

  /**
   * The account when `password` is right, else null. An unknown username
   * costs the same Argon2id work and gives the same answer as a wrong
   * password, so neither the response nor its timing tells whether the user
   * exists. A right password under an old hash (scrypt, or other Argon2id
   * parameters) is re-hashed now.
   */
  async checkPassword(usernameInput: string, password: string): Promise<Account | null> {
    const record = await this.store.byUsername(normalizeUsername(usernameInput));
    return (await this.#verifyAndUpgrade(record, password)) ? snapshot(record!) : null;
  }

  /**
   * Whether `password` is the signed-in user's (id) password: the re-check
   * before sensitive actions (reauth.ts). Same work as a login.
   */
  async verifyPassword(id: string, password: string): Promise<boolean> {
    return this.#verifyAndUpgrade(await this.store.byId(id), password);
  }

  async #verify(record: AccountRecord | undefined, password: string): Promise<boolean> {
    const decoy = await this.#decoy;
    const match = await verifyPassword(record?.passwordHash ?? decoy, password, decoy);
    return record !== undefined && match;
  }

  async #verifyAndUpgrade(record: AccountRecord | undefined, password: string): Promise<boolean> {
    if (!(await this.#verify(record, password))) return false;
    if (needsRehash(record!.passwordHash, this.#cost)) {
      try {
        // Only over the hash just verified: a password changed meanwhile stays changed.
        await this.store.setPasswordHash(record!.id, await hashPassword(password, this.#cost), record!.passwordHash);
      } catch (error) {
        // The password was right; the upgrade is tried again at the next sign-in.
        console.error(`twofold example: re-hashing a password failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return true;
  }

  async byId(id: string): Promise<Account | undefined> {
    const record = await this.store.byId(id);
    return record && snapshot(record);
  }

  async byUsername(usernameInput: string): Promise<Account | undefined> {
    const record = await this.store.byUsername(normalizeUsername(usernameInput));
    return record && snapshot(record);
  }

  /** The account with this username or (when it has an `@`) this email address, case-insensitive. */
  async byUsernameOrEmail(input: string): Promise<Account | undefined> {
    const key = input.trim().toLowerCase();
    if (!key.includes('@')) return this.byUsername(key);
    const record = await this.store.byEmail(key);
    return record && snapshot(record);
  }

  /**
   * Start a password reset: a new random single-use token (returned once, to
   * be emailed) whose hash replaces any earlier one, so only the newest link
   * works. Undefined for an unknown id.
   */
  async startPasswordReset(id: string | undefined, now: number): Promise<{ token: string; expiresAt: number } | undefined> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + PASSWORD_RESET_TTL_MS;
    const tokenHash = resetTokenHash(token);
    if (id === undefined) return undefined;
    await this.store.setReset(id, tokenHash, expiresAt);
    return { token, expiresAt };
  }

  /** Whether the reset link (username, token) works now, without using it up: for showing the form. */
  async checkPasswordReset(usernameInput: string, token: string, now: number): Promise<'ok' | 'invalid' | 'expired'> {
    return resetState(await this.store.byUsername(normalizeUsername(usernameInput)), token, now);
  }

  /**
   * Finish a password reset: the token must be the newest one of that user
   * and unexpired. A new password that breaks the sign-up rules is refused
   * first and leaves the token usable; then the token is used up, in one
   * conditional write that only one of several concurrent submits (in any
   * process) wins, before the new password is hashed. Ending sessions and
   * locks is the caller's job (routes/password-reset.ts).
   */
  async resetPassword(usernameInput: string, token: string, newPassword: string, now: number): Promise<ResetPasswordResult> {
    const record = await this.store.byUsername(normalizeUsername(usernameInput));
    const state = resetState(record, token, now);
    const invalid: ResetPasswordResult = { ok: false, reason: 'invalid', message: 'This password reset link is not valid.' };
    if (state === 'invalid') return invalid;
    if (state === 'expired') return { ok: false, reason: 'expired', message: 'This password reset link has expired.' };
    const problem = passwordProblem(newPassword);
    if (problem) return { ok: false, reason: 'weak', message: problem };
    if (!(await this.store.takeReset(record!.id, resetTokenHash(token), now))) return invalid;
    await this.store.setPasswordHash(record!.id, await hashPassword(newPassword, this.#cost));
    return { ok: true, account: snapshot(record!) };
  }

  /**
   * A signed-in user's new password: the current one must be right (the same
   * verify as a login), the new one must follow the sign-up rules and differ
   * from it. Ending sessions and forgetting remembered browsers is the
   * caller's job (routes/password-change.ts).
   */
  async changePassword(id: string, currentPassword: string, newPassword: string): Promise<ChangePasswordResult> {
    const problem = passwordProblem(newPassword);
    if (problem) return { ok: false, reason: 'weak', message: problem };
    const record = await this.store.byId(id);
    if (!(await this.#verify(record, currentPassword))) return { ok: false, reason: 'wrong', message: 'Your current password is not right.' };
    if (newPassword.normalize('NFKC') === currentPassword.normalize('NFKC')) {
      return { ok: false, reason: 'same', message: 'The new password is your current one. Choose another.' };
    }
    await this.store.setPasswordHash(id, await hashPassword(newPassword, this.#cost));
    return { ok: true, account: snapshot(record!) };
  }

  /** End every session of the user created before now; resolves to the generation to stamp on the current one. */
  /** Note a completed email recovery (only the SHA-256 of its token is kept). */
  noteEmailRecovery(id: string, token: string, completedAt: number): Promise<void> {
    return this.store.noteEmailRecovery(id, resetTokenHash(token), completedAt);
  }

  /** The last completed email recovery of the account, if any. */
  emailRecoveryOf(id: string): Promise<EmailRecoveryNote | undefined> {
    return this.store.emailRecoveryOf(id);
  }

  /** Whether `token` is the one of the account's last completed email recovery (its used link). */
  async usedRecoveryToken(id: string, token: string): Promise<EmailRecoveryNote | undefined> {
    const note = await this.store.emailRecoveryOf(id);
    if (note === undefined) return undefined;
    const a = Buffer.from(note.tokenHash, 'hex');
    const b = Buffer.from(resetTokenHash(token), 'hex');
    return a.length === b.length && timingSafeEqual(a, b) ? note : undefined;
  }

  /** Two-factor authentication is on again: the account page stops asking to set it up. */
  clearSetUpAgain(id: string): Promise<void> {
    return this.store.clearSetUpAgain(id);
  }

  async endSessions(id: string): Promise<number> {
    return (await this.store.bumpGeneration(id)) ?? 0;
  }
}

function resetState(record: AccountRecord | undefined, token: string, now: number): 'ok' | 'invalid' | 'expired' {
  const stored = record?.resetTokenHash ?? null;
  // Both sides are hex SHA-256 digests: equal lengths, compared in constant time.
  if (stored === null || stored.length !== 64 || token === '' || !timingSafeEqual(Buffer.from(resetTokenHash(token)), Buffer.from(stored))) return 'invalid';
  return (record!.resetExpiresAt ?? 0) > now ? 'ok' : 'expired';
}
