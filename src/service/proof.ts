/**
 * Checking a proof for an enabled user, for every flow that asks for one
 * (login, step-up, disable, regenerate, adding or removing a factor): it
 * picks the factor kind the proof names (factors/totp.ts,
 * factors/webauthn.ts), or the recovery codes, or a step-up grant, and
 * applies the lockout rules (lock.ts) to the outcome.
 */
import { hashRecoveryCode, normalizeRecoveryCode } from '../recovery-codes.ts';
import type { MfaRecord } from '../stores/types.ts';
import type { ChallengeClaims } from './challenge.ts';
import type { Decision, ServiceContext } from './context.ts';
import type { MfaEvent, ProofContext } from './events.ts';
import { replaceFactor, type FactorCheck } from './factors/factor.ts';
import { checkTotp, isTotpCode, totpDigitsOf } from './factors/totp.ts';
import { checkWebAuthn } from './factors/webauthn.ts';
import { moveToCurrentKey } from './key-rotation.ts';
import { activeLock, attemptsLeft, failureDecision, lockedResult } from './lock.ts';
import { clearLock, isEnabled, withChanges } from './record.ts';
import { noteUnusedCodes, recordedUnusedCodes, remainingCodes, setKey } from './recovery-code-set.ts';
import type { LockedFailure, ProofFailureResult, ProofMethod } from './results.ts';
import { checkGrant } from './step-up-grant.ts';

/** A parsed proof: exactly one of the four kinds, well-formed. */
type ParsedProof =
  | { method: 'totp'; code: string }
  | { method: 'recovery_code'; code: string }
  | { method: 'webauthn'; response: object }
  | { method: 'step_up'; grant: string };

const PROOF_KEYS = ['totp', 'recoveryCode', 'webauthn', 'stepUp'] as const;

/**
 * Exactly one known key with a well-formed value, else null (malformed,
 * never counted). A WebAuthn assertion needs a challenge to answer; a
 * step-up grant is refused where a fresh factor is the point (login, step-up).
 */
function parseProof(proof: unknown, digits: number, context: ProofContext, hasChallenge: boolean): ParsedProof | null {
  if (typeof proof !== 'object' || proof === null) return null;
  let present: (typeof PROOF_KEYS)[number] | null = null;
  for (const key of PROOF_KEYS) {
    if ((proof as Record<string, unknown>)[key] === undefined) continue;
    if (present !== null) return null;
    present = key;
  }
  if (present === null) return null;
  const value = (proof as Record<string, unknown>)[present];
  switch (present) {
    case 'totp':
      return isTotpCode(value, digits) ? { method: 'totp', code: value } : null;
    case 'recoveryCode': {
      const code = normalizeRecoveryCode(value);
      return code === null ? null : { method: 'recovery_code', code };
    }
    case 'webauthn':
      return hasChallenge && typeof value === 'object' && value !== null ? { method: 'webauthn', response: value } : null;
    case 'stepUp':
      return context !== 'login' && context !== 'step_up' && typeof value === 'string' ? { method: 'step_up', grant: value } : null;
  }
}

/** What a successful proof was. */
export interface ProofSuccess {
  method: ProofMethod;
  /** The factor that answered (TOTP or WebAuthn). */
  factorId?: string;
  /** Unused recovery codes after this success. */
  remaining: number;
}

export interface ProofHandlers<T> {
  /** The change a success makes, written in the same compare-and-set as the proof's own effects. */
  onSuccess: (record: MfaRecord, now: number, success: ProofSuccess) => Decision<T> | Promise<Decision<T>>;
  /** Unused codes after a success, read before the commit; defaults to the store's count. */
  remainingAfter?: () => number;
  afterCommit?: () => Promise<void>;
}

type Refusal = ProofFailureResult | LockedFailure | { ok: false; reason: 'challenge_invalid' };

/** A proof's decision: at once, or once what it waits for has answered. */
type Decided<T> = Decision<T | Refusal> | Promise<Decision<T | Refusal>>;

/** A recovery code consumed from the store for this proof, and what it tells. */
interface ConsumedCode {
  hash: string;
  setId: string;
  keyId: string;
}

/**
 * Check a proof for an enabled user and apply the lockout rules. A valid
 * proof resets the failure count and lets `onSuccess` add its change to the
 * same compare-and-set write. A recovery code is consumed before that write
 * and restored if the write cannot happen, so a store fault never costs the
 * user a code. `claims`: the challenge being answered (login, step-up).
 */
export async function withProof<T extends { ok: boolean }>(
  ctx: ServiceContext,
  userId: string,
  rawProof: unknown,
  context: ProofContext,
  claims: ChallengeClaims | null,
  handlers: ProofHandlers<T>,
): Promise<T | Refusal> {
  const attempt = new ProofAttempt(ctx, userId, rawProof, context, claims, handlers);
  try {
    const outcome = await ctx.update<T | Refusal>(userId, (record, now) => attempt.decide(record, now), attempt.afterCommit);
    if (attempt.consumed !== null && !attempt.committed) {
      // Ended without writing (the user was disabled or the challenge spent
      // meanwhile): the code was not used, so it must still work.
      await ctx.codes.restore(userId, attempt.consumed.hash);
    }
    return outcome;
  } catch (error) {
    if (attempt.consumed !== null && !attempt.committed) {
      // The operation failed before committing, so the code must still work. Best effort: the original error wins.
      await ctx.codes.restore(userId, attempt.consumed.hash).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * One `withProof`: its decision, made again on each compare-and-set attempt,
 * and what it keeps between attempts (a consumed recovery code, whether the
 * write happened). The decision is synchronous unless it must wait for a
 * store (a recovery code, an uncounted code set) or for `onSuccess`: an app
 * or a key is decided without a turn of the microtask queue.
 */
class ProofAttempt<T extends { ok: boolean }> {
  /** A recovery code this proof consumed, kept until the write commits (or given back). */
  consumed: ConsumedCode | null = null;
  committed = false;
  /** Run by `ctx.update` once the write is stored. */
  readonly afterCommit: () => void | Promise<void>;

  constructor(
    readonly ctx: ServiceContext,
    readonly userId: string,
    readonly rawProof: unknown,
    readonly context: ProofContext,
    readonly claims: ChallengeClaims | null,
    readonly handlers: ProofHandlers<T>,
  ) {
    const after = handlers.afterCommit;
    this.afterCommit = after === undefined
      ? () => {
          this.committed = true;
        }
      : () => {
          this.committed = true;
          return after();
        };
  }

  decide(record: MfaRecord, now: number): Decided<T> {
    const { ctx, userId, claims, handlers, context } = this;
    // A code consumed on an earlier attempt whose write then lost a race
    // was valid, on a live challenge, before whatever concurrent requests
    // wrote since (failures, a lock that moved the challenge epoch): the
    // success is ordered first, and what came after it stays. The set is
    // unchanged (else this is false), so nothing but those moved the epoch.
    const alreadyConsumed = this.consumed !== null && this.consumed.setId === record.recoveryCodeSet;
    const lock = activeLock(record, now);
    // The lock is answered first so a locked user learns when to retry.
    if (lock && !alreadyConsumed) return { write: null, result: lockedResult(lock) };
    if (claims !== null) {
      // Spent means its id is listed. Each entry holds the expiry its challenge
      // carried, and id and expiry are under one MAC, the id 128 random bits
      // drawn once per challenge: an entry with this id has this expiry. So
      // the number is compared first, and only an entry of the same expiry has
      // its id read (at 20 spent ids, reading every id string was a tenth of
      // a login's time). One who could forge the MAC needs no spent id anyway.
      let spent = false;
      for (const c of record.spentChallenges) {
        if (c.expiresAt === claims.expiresAt && c.id === claims.id) {
          spent = true;
          break;
        }
      }
      if (spent || (!alreadyConsumed && record.challengeEpoch !== claims.epoch)) {
        return { write: null, result: { ok: false, reason: 'challenge_invalid' } };
      }
    }
    if (!isEnabled(record)) {
      return { write: null, result: claims !== null ? { ok: false, reason: 'challenge_invalid' } : { ok: false, reason: 'not_enrolled' } };
    }
    const proof = parseProof(this.rawProof, totpDigitsOf(ctx, record), context, claims !== null);
    if (proof === null) return { write: null, result: { ok: false, reason: 'malformed' } };

    switch (proof.method) {
      case 'step_up': {
        const refused = checkGrant(ctx.ring.hmacKeys('step-up'), proof.grant, userId, record.factorEpoch, now);
        if (refused !== null) return { write: null, result: { ok: false, reason: refused } };
        // A grant proves a recent step-up, not a new factor: the counters stay as they are.
        const remaining = handlers.remainingAfter ? handlers.remainingAfter() : recordedUnusedCodes(record);
        if (remaining !== null) return handlers.onSuccess(record, now, { method: 'step_up', remaining });
        return remainingCodes(ctx, userId, record).then((counted) => handlers.onSuccess(record, now, { method: 'step_up', remaining: counted }));
      }
      case 'totp':
        return this.#settle(record, now, 'totp', checkTotp(ctx, userId, record, proof.code, now), false);
      case 'webauthn': {
        const check = checkWebAuthn(ctx, userId, record, proof.response, claims!.id, now);
        if (check === null) return { write: null, result: { ok: false, reason: 'malformed' } };
        return this.#settle(record, now, 'webauthn', check, false);
      }
      case 'recovery_code':
        // Consumed on an earlier attempt whose write lost a race: still ours.
        if (alreadyConsumed) return this.#settle(record, now, 'recovery_code', null, true);
        return this.#consume(record, proof.code).then((check) => this.#settle(record, now, 'recovery_code', check, false));
    }
  }

  /**
   * Consumes the recovery code from the store: null once consumed (kept in
   * `consumed`), else the failure to count.
   */
  async #consume(record: MfaRecord, code: string): Promise<FactorCheck | null> {
    const { ctx, userId } = this;
    if (this.consumed !== null) {
      // The set changed while our write was losing a race: the old set is dead, give the code back anyway.
      await ctx.codes.restore(userId, this.consumed.hash);
      this.consumed = null;
    }
    if (record.recoveryCodeSet !== null) {
      const keys = ctx.ring.hmacKeys('recovery-code');
      const keyIds = ctx.ring.toJSON().keyIds;
      for (const [i, key] of keys.entries()) {
        const hash = hashRecoveryCode(userId, code, setKey(key, record.recoveryCodeSet));
        // Should consume itself fail, whether the store spent the code is
        // unknown: it is treated as spent (fail closed, never usable twice).
        if (await ctx.codes.consume(userId, hash)) {
          this.consumed = { hash, setId: record.recoveryCodeSet, keyId: keyIds[i]! };
          return null;
        }
      }
    }
    return { ok: false, reason: 'invalid_code', counted: true };
  }

  /**
   * The decision once the factor has answered: `check` is the app's or the
   * key's outcome, or null for a consumed recovery code.
   */
  #settle(
    record: MfaRecord,
    now: number,
    method: Exclude<ProofMethod, 'step_up'>,
    check: FactorCheck | null,
    alreadyConsumed: boolean,
  ): Decided<T> {
    const { ctx, userId, handlers } = this;
    if (check !== null && !check.ok) {
      if (!check.counted) return { write: null, result: { ok: false, reason: check.reason, attemptsLeft: attemptsLeft(ctx.options, record) } };
      return failureDecision(ctx.options, userId, record, now, method, check.reason, this.context, check.events);
    }
    // A success clears the failure counts and any lock (DESIGN §3) — unless this is
    // the retry of a consumed code whose write lost a race: what came after it stays.
    let next: MfaRecord = alreadyConsumed ? withChanges(record, { lastMfaAt: now }) : clearLock(record, { lastMfaAt: now });
    if (check !== null) next.factors = replaceFactor(record.factors, check.factor);
    // A code that matched tells which key the set's hashes are under (a set hashed before records kept it).
    if (this.consumed !== null) next.recoveryCodeKeyIds = [this.consumed.keyId];
    // Whatever a retired key sealed is sealed again under the current one; nothing under a dropped key fails the proof.
    next = moveToCurrentKey(ctx, userId, next, now).record;
    const factorId = check?.ok ? check.factor.id : undefined;
    // Read before the commit, so nothing can fail once the record is written.
    // A login with an app or a key reports the count the record keeps (two
    // store round trips: the read, the write); a recovery code counts the
    // store after its consume and notes the result in the same write. Any
    // write that lost a race to it re-reads the record and sees that count.
    if (handlers.remainingAfter) return this.#succeed(next, now, method, factorId, handlers.remainingAfter());
    const recorded = method === 'recovery_code' ? null : recordedUnusedCodes(next);
    if (recorded !== null) return this.#succeed(next, now, method, factorId, recorded);
    const counted = next;
    return remainingCodes(ctx, userId, counted).then((remaining) => this.#succeed(noteUnusedCodes(counted, remaining), now, method, factorId, remaining));
  }

  /** The success's events and `onSuccess`'s change, in one decision. */
  #succeed(
    next: MfaRecord,
    now: number,
    method: Exclude<ProofMethod, 'step_up'>,
    factorId: string | undefined,
    remaining: number,
  ): Decided<T> {
    const { userId, context } = this;
    // (Optional fields are set when present rather than spread in: a spread builds the object by a slow path.)
    const proved: ProofSuccess = { method, remaining };
    if (factorId !== undefined) proved.factorId = factorId;
    const events: MfaEvent[] = [];
    if (context === 'login') {
      const succeeded: Extract<MfaEvent, { type: 'login.succeeded' }> = { type: 'login.succeeded', userId, at: now, method, recoveryCodesRemaining: remaining };
      if (factorId !== undefined) succeeded.factorId = factorId;
      events.push(succeeded);
    }
    if (method === 'recovery_code') {
      events.push({ type: 'recovery_code.used', userId, at: now, context, recoveryCodesRemaining: remaining });
    }
    const success = this.handlers.onSuccess(next, now, proved);
    if (success instanceof Promise) return success.then((decided) => withEvents(decided, events));
    return withEvents(success, events);
  }
}

/** `decided`'s write and result, with the proof's events first and then its own. */
function withEvents<R>(decided: Decision<R>, events: MfaEvent[]): Decision<R> {
  if (decided.events !== undefined) events.push(...decided.events);
  return { write: decided.write, result: decided.result, events };
}
