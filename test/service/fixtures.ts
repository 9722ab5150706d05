/**
 * Shared set-up for the service tests: a clock moved by hand, a service over
 * memory stores that collects its events, helpers for the flow (enroll, log
 * in, codes at a given instant), `expectMfaError`, and a recovery-code store
 * that records what it is given. Tests never sleep.
 */
import { expect } from 'vitest';
import { isMfaError, type MfaError, type MfaErrorCode } from '../../src/errors.ts';
import { generateTotp } from '../../src/index.ts';
import type { TotpAlgorithm, TotpDigits } from '../../src/otp/index.ts';
import type { MfaEvent, MfaEventType } from '../../src/service/events.ts';
import { MfaService } from '../../src/service/mfa-service.ts';
import type { MfaServiceOptions } from '../../src/service/options.ts';
import type { Proof, VerifyLoginResult } from '../../src/service/results.ts';
import { MemoryRecoveryCodeStore, MemoryUserStore, type MfaRecord, type RecoveryCodeStore, type TotpFactorRecord } from '../../src/stores/index.ts';
import { isDeepStrictEqual } from 'node:util';
import { copyJsonData, jsonCopy } from '../../src/stores/json-copy.ts';
import { wrapStoredRecordAccess } from '../../src/stores/memory.ts';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Root keys (32 bytes, as `hex:` strings). */
export const KEY_1 = `hex:${'11'.repeat(32)}`;
export const KEY_2 = `hex:${'22'.repeat(32)}`;
export const KEY_3 = `hex:${'33'.repeat(32)}`;

/** 2025-01-01T00:00:05Z: five seconds into a 30 s TOTP step. */
export const T0 = Date.UTC(2025, 0, 1) + 5 * SECOND;

/** A clock moved only by the test. */
export class Clock {
  ms: number;
  constructor(start = T0) {
    this.ms = start;
  }
  readonly now = (): number => this.ms;
  advance(ms: number): number {
    this.ms += ms;
    return this.ms;
  }
  set(ms: number): number {
    this.ms = ms;
    return this.ms;
  }
}

/** TOTP parameters a code is computed with (defaults: SHA1/6/30). */
export interface CodeParams {
  algorithm?: TotpAlgorithm;
  digits?: TotpDigits;
  period?: number;
}

/** The TOTP code of `secret` at `ms`. */
export function codeAt(secret: string, ms: number, params: CodeParams = {}): string {
  return generateTotp(secret, { now: ms, ...params });
}

/** A well-formed code that matches no step of the window `±reach` around `ms`. */
export function wrongCodeAt(secret: string, ms: number, params: CodeParams = {}, reach = 3): string {
  const period = (params.period ?? 30) * SECOND;
  const digits = params.digits ?? 6;
  const taken = new Set<string>();
  for (let d = -reach; d <= reach; d++) taken.add(codeAt(secret, ms + d * period, params));
  let n = Number(codeAt(secret, ms, params));
  let code: string;
  do {
    n = (n + 1) % 10 ** digits;
    code = String(n).padStart(digits, '0');
  } while (taken.has(code));
  return code;
}

/** Narrow a result to its `ok: true` branch, failing the test (with the result) otherwise. */
export function ok<T extends { ok: boolean }>(result: T): Extract<T, { ok: true }> {
  expect(result, `expected ok, got ${JSON.stringify(result)}`).toMatchObject({ ok: true });
  return result as Extract<T, { ok: true }>;
}

/** Expect `promise` to reject with MfaError(code), failing the test (with what came instead) otherwise; returns the error. */
export async function expectMfaError(promise: Promise<unknown>, code: MfaErrorCode): Promise<MfaError> {
  let error: unknown = null;
  let value: unknown;
  try {
    value = await promise;
  } catch (e) {
    error = e;
  }
  expect(isMfaError(error), `expected MfaError ${code}, got ${error === null ? `value ${JSON.stringify(value)}` : String(error)}`).toBe(true);
  expect((error as MfaError).code).toBe(code);
  return error as MfaError;
}

export interface Enrolled {
  userId: string;
  /** Base32 secret as shown for manual entry. */
  secret: string;
  uri: string;
  /** The revealed recovery codes, formatted. */
  codes: string[];
  /** When the enrollment was confirmed (its code's step is spent). */
  confirmedAt: number;
}

/** Freeze a tree of plain objects and arrays all the way down. */
export function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
}

/**
 * A MemoryUserStore for the service tests (every Harness uses it). The
 * service reads and writes the memory store's records without copies
 * (storedRecordAccessOf): here every record it reads or writes is
 * deep-frozen, so a flow that changed one throws, and every record it writes
 * must equal its JSON round trip (what `put` would have stored), so a flow
 * that wrote anything else (an undefined field, -0, a Date) throws too.
 */
export class FreezingMemoryUserStore extends MemoryUserStore {
  constructor() {
    super();
    wrapStoredRecordAccess(this, (access) => ({
      read: (userId) => {
        const entry = access.read(userId);
        deepFreeze(entry);
        return entry;
      },
      write: (userId, record, expectedVersion) => {
        if (!isDeepStrictEqual(copyJsonData(record), jsonCopy(record))) {
          throw new Error(`the service wrote a record that is not JSON data (fields: ${Object.keys(record).join(", ")})`);
        }
        const written = access.write(userId, record, expectedVersion);
        // Kept as it is: the service must never change it afterwards either.
        if (written) deepFreeze(record);
        return written;
      },
    }));
  }
}

export type ServiceOverrides = Partial<Omit<MfaServiceOptions, 'users' | 'recoveryCodes'>>;

/** One service over memory stores and a hand clock; more services can share the stores and clock. */
export class Harness {
  readonly clock: Clock;
  readonly users: MemoryUserStore;
  readonly codes: MemoryRecoveryCodeStore;
  readonly events: MfaEvent[] = [];
  readonly mfa: MfaService;
  readonly overrides: ServiceOverrides;

  constructor(overrides: ServiceOverrides = {}, stores?: { users?: MemoryUserStore; codes?: MemoryRecoveryCodeStore; clock?: Clock }) {
    this.clock = stores?.clock ?? new Clock();
    this.users = stores?.users ?? new FreezingMemoryUserStore();
    this.codes = stores?.codes ?? new MemoryRecoveryCodeStore();
    this.overrides = overrides;
    this.mfa = this.service(overrides);
  }

  /** Options for a service on this harness's stores and clock, collecting events. */
  options(overrides: ServiceOverrides = this.overrides): MfaServiceOptions {
    return {
      issuer: 'Example App',
      secretKey: KEY_1,
      now: this.clock.now,
      onEvent: (event) => {
        this.events.push(event);
      },
      ...overrides,
      users: this.users,
      recoveryCodes: this.codes,
    };
  }

  /** Another service instance over the same stores and clock. */
  service(overrides: ServiceOverrides = this.overrides): MfaService {
    return new MfaService(this.options(overrides));
  }

  get now(): number {
    return this.clock.ms;
  }

  /** The raw record the UserStore holds, or null (the service writes only the current layout). */
  async record(userId: string): Promise<MfaRecord | null> {
    return ((await this.users.get(userId))?.record as MfaRecord | undefined) ?? null;
  }

  /** The user's authenticator-app factor as stored, or null. */
  async totpFactor(userId: string): Promise<TotpFactorRecord | null> {
    const record = await this.record(userId);
    return (record?.factors.find((f) => f.kind === 'totp') as TotpFactorRecord | undefined) ?? null;
  }

  /** The events of one type, in order. */
  eventsOf<T extends MfaEventType>(type: T): Extract<MfaEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<MfaEvent, { type: T }> => e.type === type);
  }

  /** The `type`s of events emitted since `from`. */
  typesSince(from: number): MfaEventType[] {
    return this.events.slice(from).map((e) => e.type);
  }

  /** begin + confirm (with the current code) + reveal. */
  async enroll(userId: string, mfa: MfaService = this.mfa, params: CodeParams = {}): Promise<Enrolled> {
    const accountName = /^[\w.-]{1,100}$/.test(userId) ? `${userId}@example.com` : 'user@example.com';
    const begun = ok(await mfa.beginEnrollment(userId, { accountName }));
    ok(await mfa.confirmEnrollment(userId, codeAt(begun.secret, this.now, params)));
    const confirmedAt = this.now;
    const revealed = ok(await mfa.revealRecoveryCodes(userId));
    return { userId, secret: begun.secret, uri: begun.uri, codes: revealed.codes, confirmedAt };
  }

  /** A challenge from startLogin (which must require MFA). */
  async challenge(userId: string, mfa: MfaService = this.mfa): Promise<string> {
    const started = await mfa.startLogin(userId);
    expect(started, `startLogin: ${JSON.stringify(started)}`).toMatchObject({ ok: true, mfaRequired: true });
    return (started as { challenge: string }).challenge;
  }

  /** startLogin + verifyLogin. */
  async login(userId: string, proof: Proof, mfa: MfaService = this.mfa): Promise<VerifyLoginResult> {
    return mfa.verifyLogin(await this.challenge(userId, mfa), proof);
  }

  /** Request email recovery, wait out the delay and complete the recovery: the events the completion emitted. */
  async completeEmailRecovery(userId: string): Promise<MfaEvent[]> {
    const requested = ok(await this.mfa.requestEmailRecovery(userId));
    this.clock.set(requested.notBefore);
    const from = this.events.length;
    ok(await this.mfa.completeEmailRecovery(userId, requested.token));
    return this.events.slice(from);
  }

  /** Move to a later TOTP step and return its code (never replayed). */
  freshCode(secret: string, params: CodeParams = {}): string {
    this.clock.advance((params.period ?? 30) * SECOND);
    return codeAt(secret, this.now, params);
  }

  /** A wrong but well-formed code for now. */
  wrongCode(secret: string, params: CodeParams = {}): string {
    return wrongCodeAt(secret, this.now, params);
  }
}

/** One call a {@link RecordingCodeStore} was given; array arguments are copied as they were. */
export interface CodeStoreCall {
  method: keyof RecoveryCodeStore;
  args: unknown[];
}

/**
 * A memory recovery-code store that records every call it is given and
 * forwards every argument to `inner`. A test that must hold or intercept a
 * call overrides that method and calls `super`.
 */
export class RecordingCodeStore implements RecoveryCodeStore {
  readonly inner = new MemoryRecoveryCodeStore();
  readonly calls: CodeStoreCall[] = [];
  #record(method: keyof RecoveryCodeStore, args: unknown[]): void {
    this.calls.push({ method, args: args.map((a) => (Array.isArray(a) ? [...a] : a)) });
  }
  replace(...args: Parameters<RecoveryCodeStore['replace']>) {
    this.#record('replace', args);
    return this.inner.replace(...args);
  }
  consume(...args: Parameters<RecoveryCodeStore['consume']>) {
    this.#record('consume', args);
    return this.inner.consume(...args);
  }
  restore(...args: Parameters<RecoveryCodeStore['restore']>) {
    this.#record('restore', args);
    return this.inner.restore(...args);
  }
  countUnused(...args: Parameters<RecoveryCodeStore['countUnused']>) {
    this.#record('countUnused', args);
    return this.inner.countUnused(...args);
  }
  clear(...args: Parameters<RecoveryCodeStore['clear']>) {
    this.#record('clear', args);
    return this.inner.clear(...args);
  }
}

/** Every string leaf of a value (keys too), for scanning what the service hands out. */
export function stringsIn(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    if (value instanceof Error) {
      out.push(value.message, value.name, String(value.stack ?? ''));
      const code = (value as { code?: unknown }).code;
      if (typeof code === 'string') out.push(code);
    }
    for (const [key, inner] of Object.entries(value)) {
      out.push(key);
      stringsIn(inner, out, seen);
    }
  }
  return out;
}

/** Assert no string in `haystack` contains any of `needles` (case-insensitive). */
export function expectNoSecrets(haystack: readonly string[], needles: readonly string[], label = ''): void {
  const lower = haystack.map((s) => s.toLowerCase());
  for (const needle of needles) {
    if (needle.length < 6) throw new Error(`needle too short to scan for: ${needle.length}`);
    const n = needle.toLowerCase();
    const hit = lower.findIndex((s) => s.includes(n));
    expect(hit, `${label}: found a secret (${needle.slice(0, 4)}…) in an output string`).toBe(-1);
  }
}

/** Forms of a recovery code someone could leak: formatted, canonical, any case. */
export function recoveryCodeForms(code: string): string[] {
  const canonical = code.replace(/-/g, '');
  return [code, canonical];
}
