import { MfaError } from '../errors.ts';
import { createKeyRing, type KeyRing } from '../seal.ts';
import type { MfaRecord, RecoveryCodeStore, UserStore, VersionedRecord } from '../stores/types.ts';
import type { MfaEvent } from './events.ts';
import type { WebAuthnPlugin } from './factors/webauthn-plugin.ts';
import { resolveOptions, type MfaServiceOptions, type ResolvedOptions } from './options.ts';
import { blankRecord, upgradeRecord } from './record.ts';
import { storedRecordAccessOf } from '../stores/memory.ts';

/** Compare-and-set attempts before a write gives up with `MfaError('store_conflict')`. */
const MAX_ATTEMPTS = 100;
/** Attempts retried at once before backing off with a short random delay. */
const IMMEDIATE_RETRIES = 4;
/** User ids are host-chosen strings of at most this many UTF-16 units. */
const MAX_USER_ID_LENGTH = 16_384;
/**
 * The most UTF-8 bytes a legal user id takes: 3 per UTF-16 unit (a character
 * from U+0800 to U+FFFF; one above takes 4 bytes but 2 units). Challenges
 * and step-up grants carry the id, and their parsers accept this much.
 */
export const MAX_USER_ID_BYTES = 3 * MAX_USER_ID_LENGTH;

/** Sealing purposes: a value sealed for one never opens as the other. */
export const SEAL_TOTP = 'totp-secret';
export const SEAL_CODES = 'recovery-codes';

/** What an operation decided on one read: the record to write (or none), the result, and the events to emit once stored. */
export interface Decision<T> {
  write: MfaRecord | null;
  result: T;
  events?: MfaEvent[];
}

export function assertUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH || !userId.isWellFormed()) {
    throw new MfaError('invalid_argument', `userId must be a non-empty, well-formed string of at most ${MAX_USER_ID_LENGTH} characters`);
  }
}

function isRecord(value: unknown): value is VersionedRecord {
  if (typeof value !== 'object' || value === null) return false;
  const { record, version } = value as Partial<VersionedRecord>;
  return (
    typeof version === 'number' && Number.isInteger(version) && version > 0 &&
    typeof record === 'object' && record !== null && (record.schema === 1 || record.schema === 2)
  );
}

/** What a store read gave, checked and in the current layout; null for no record. */
function inCurrentLayout(current: unknown): { record: MfaRecord; version: number } | null {
  if (current === null || current === undefined) return null;
  if (!isRecord(current)) throw new MfaError('store_contract', 'UserStore.get returned something that is not a versioned MFA record');
  return { record: upgradeRecord(current.record), version: current.version };
}

/**
 * Report a failure that must not fail the operation (an `onEvent` handler,
 * follow-up store work after a commit) as a process warning. Only the
 * error's name and code are included: messages from stores or handlers may
 * quote values twofold keeps out of logs.
 */
export function warn(kind: 'event' | 'store', what: string, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  process.emitWarning(`twofold: ${what} (${name}${typeof code === 'string' ? ` ${code}` : ''})`, {
    type: kind === 'event' ? 'TwofoldEventWarning' : 'TwofoldStoreWarning',
  });
}

/**
 * What every flow of the service shares: the resolved options, the key
 * ring, the stores, the clock, and the one way a record changes
 * (read–decide–compare-and-set, then events). Holds no rule of its own.
 */
export class ServiceContext {
  readonly options: ResolvedOptions;
  readonly ring: KeyRing;
  readonly users: UserStore;
  readonly codes: RecoveryCodeStore;
  readonly #onEvent: MfaServiceOptions['onEvent'];
  /** The embedded MemoryUserStore's records, read and written without the copies get and put make (see storedRecordAccessOf). */
  readonly #stored: ReturnType<typeof storedRecordAccessOf>;

  constructor(options: MfaServiceOptions) {
    this.options = resolveOptions(options);
    this.ring = createKeyRing({ secretKey: options.secretKey, previousSecretKeys: options.previousSecretKeys ?? [] });
    this.users = options.users;
    this.codes = options.recoveryCodes;
    this.#onEvent = options.onEvent;
    this.#stored = storedRecordAccessOf(options.users);
  }

  now(): number {
    const now = this.options.now();
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new MfaError('invalid_option', 'MfaService option `now` must return a finite number of ms');
    return now;
  }

  /** The WebAuthn plugin; calling a WebAuthn method without one is a configuration error. */
  webauthn(): WebAuthnPlugin {
    const plugin = this.options.webauthn;
    if (plugin === null) throw new MfaError('invalid_option', "no WebAuthn plugin: pass `webauthn: webauthn({ rpId, rpName, origins })` from 'twofold/webauthn'");
    return plugin;
  }

  /** The user's record in the current layout (a 0.1.0 record is upgraded; it is written back on the next change). */
  async read(userId: string): Promise<{ record: MfaRecord; version: number } | null> {
    const stored = this.#readStored(userId);
    return stored !== undefined ? stored : this.#fetch(userId);
  }

  /** `read` without a promise, from the embedded memory store's own records; undefined for any other store. */
  #readStored(userId: string): { record: MfaRecord; version: number } | null | undefined {
    const stored = this.#stored?.read(userId);
    return stored === undefined ? undefined : inCurrentLayout(stored);
  }

  /** `read` through the store's `get`. */
  async #fetch(userId: string): Promise<{ record: MfaRecord; version: number } | null> {
    return inCurrentLayout(await this.users.get(userId));
  }

  /**
   * Read–decide–compare-and-set, re-reading on a lost race, then run
   * `afterCommit` (whose failure is only reported) and emit the decision's events. `decide` must be free of
   * side effects other than idempotent ones: it may run several times.
   * `first`: a record the caller has just read, used for the first attempt
   * instead of reading again (the compare-and-set still names its version).
   */
  async update<T>(
    userId: string,
    decide: (record: MfaRecord, now: number) => Decision<T> | Promise<Decision<T>>,
    afterCommit?: () => void | Promise<void>,
    first?: { record: MfaRecord; version: number } | null,
  ): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt >= IMMEDIATE_RETRIES) {
        // Many writers on one record (a burst of parallel requests): spread them out.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 20)));
      }
      const now = this.now();
      let current = attempt === 0 && first !== undefined ? first : this.#readStored(userId);
      if (current === undefined) current = await this.#fetch(userId);
      // A decision made without waiting (an app or a key on the memory store) is used at once, not on a later turn.
      const decided = decide(current?.record ?? blankRecord(), now);
      const decision = decided instanceof Promise ? await decided : decided;
      if (decision.write !== null) {
        const expected = current?.version ?? null;
        const written = this.#stored?.write(userId, decision.write, expected) ?? (await this.users.put(userId, decision.write, expected));
        if (written !== true && written !== false) throw new MfaError('store_contract', 'UserStore.put must resolve to true or false');
        if (!written) continue;
        if (afterCommit) {
          // The change is committed and its result is true; follow-up store work is
          // repairable (see callers), so its failure is reported, not thrown.
          try {
            // Awaited only when it returned a promise (withProof's own bookkeeping is synchronous).
            const pending = afterCommit();
            if (pending !== undefined) await pending;
          } catch (error) {
            warn('store', 'a store call after a committed change failed', error);
          }
        }
      }
      if (decision.events !== undefined && decision.events.length > 0 && this.#onEvent) await this.emit(decision.events);
      return decision.result;
    }
    throw new MfaError('store_conflict', `gave up after ${MAX_ATTEMPTS} compare-and-set conflicts on one user record`);
  }

  async emit(events: MfaEvent[] | undefined): Promise<void> {
    if (!events || !this.#onEvent) return;
    for (const event of events) {
      try {
        await this.#onEvent(event);
      } catch (error) {
        warn('event', `onEvent failed for ${event.type}`, error);
      }
    }
  }
}
