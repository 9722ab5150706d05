/**
 * What the conformance suite's groups share: the `contract` registrar each
 * group is given, and small helpers for hashes, races and scans.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { MfaRecord, RecoveryCodeStore, UserStore } from '../stores/types.ts';

/** The two stores a contract gets, fresh. */
export type Stores = { users: UserStore; recoveryCodes: RecoveryCodeStore };

/** Registers one contract: one test with fresh stores, at least one assertion, cleanup whatever happens. */
export type Contract = (name: string, body: (stores: Stores) => Promise<void>) => void;

/** 64 lowercase hex characters, the shape of every hash the service stores. */
export function randomHash(): string {
  return randomBytes(32).toString('hex');
}

export function hashes(count: number): string[] {
  return Array.from({ length: count }, randomHash);
}

let generation = 0;
/** A generation greater than any used before in this process, so the replace applies. */
export function nextGeneration(): number {
  return ++generation;
}

/** Starts every task before awaiting any, so they really race. */
export function parallel<T>(count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => task(i)));
}

export function countTrue(results: readonly boolean[]): number {
  return results.filter((result) => result === true).length;
}

/**
 * Every page of a scan from `cursor` (default: the start) to the end, with
 * `between` run after each page (to write while the walk is under way).
 * Fails on a walk that never ends.
 */
export async function walk(
  users: UserStore,
  limit: number,
  between?: (page: number) => Promise<void>,
  cursor: string | null = null,
): Promise<{ userIds: string[]; pages: number; unnamed: number }> {
  const userIds: string[] = [];
  let pages = 0;
  let unnamed = 0;
  do {
    const page = await users.scan!(cursor, limit);
    expect(Array.isArray(page.userIds), 'scan resolves { userIds, cursor }').toBe(true);
    expect(page.cursor === null || typeof page.cursor === 'string', 'a cursor is a string or null').toBe(true);
    userIds.push(...page.userIds);
    unnamed += page.unnamed ?? 0;
    cursor = page.cursor;
    if (++pages > 1_000_000) throw new Error('scan never reached a null cursor');
    await between?.(pages);
  } while (cursor !== null);
  return { userIds, pages, unnamed };
}

/** How many times each id occurs. */
export function occurrences(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** The service's way of writing: re-read and retry until the compare-and-set wins. */
export async function incrementFailures(users: UserStore, userId: string, maxAttempts: number): Promise<void> {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const current = await users.get(userId);
    if (current === null) throw new Error('record vanished during a read-modify-write loop');
    const next = { ...current.record, failures: current.record.failures + 1 } as MfaRecord;
    if (await users.put(userId, next, current.version)) return;
  }
  throw new Error(`compare-and-set never succeeded in ${maxAttempts} attempts`);
}
