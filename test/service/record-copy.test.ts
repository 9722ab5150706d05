/**
 * copyRecord / withChanges (src/service/record.ts): every record the service
 * derives is built by one object literal instead of an object spread
 * (issue 13: a spread of a 26-field record re-derives it field by field and
 * was a tenth of a login's time). A copy must carry every field of the
 * layout, keep optional fields absent when absent, share everything below
 * the root, and never change its input; the service's records and factors
 * keep exactly the layout's fields through a whole life.
 */
import { describe, expect, it } from 'vitest';
import { copyRecord, withChanges } from '../../src/service/record.ts';
import type { MfaRecord } from '../../src/stores/types.ts';
import { sampleRecord } from '../../src/testing/index.ts';
import { deepFreeze, Harness, HOUR, ok } from './fixtures.ts';

/** Every field of the current layout, optional ones included. */
const LAYOUT_FIELDS = Object.keys(sampleRecord({ recoveryCodesUnused: { generation: 3, count: 7 } })).sort();

describe('copyRecord', () => {
  it('copies every field of the layout, optional ones included, and shares what is below the root', () => {
    const full = sampleRecord({ recoveryCodesUnused: { generation: 3, count: 7 } });
    deepFreeze(full);
    const copy = copyRecord(full);
    expect(copy).not.toBe(full);
    expect(copy).toEqual(full);
    expect(Object.keys(copy).sort()).toEqual(LAYOUT_FIELDS);
    for (const field of LAYOUT_FIELDS) expect((copy as unknown as Record<string, unknown>)[field]).toBe((full as unknown as Record<string, unknown>)[field]);
    // The copy is the caller's own: changing its root leaves the input alone.
    copy.failures = 99;
    expect(full.failures).toBe(3);
  });

  it('keeps an absent optional field absent (no undefined field, so the JSON is unchanged)', () => {
    const older = sampleRecord();
    delete older.recoveryCodeKeyIds;
    expect('recoveryCodesUnused' in older).toBe(false);
    const copy = copyRecord(older);
    expect('recoveryCodeKeyIds' in copy).toBe(false);
    expect('recoveryCodesUnused' in copy).toBe(false);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(older));
  });

  it('does not keep a field the layout does not know', () => {
    const withExtra = { ...sampleRecord(), fromANewerVersion: { stale: true } } as MfaRecord;
    expect(Object.keys(copyRecord(withExtra)).sort()).toEqual(LAYOUT_FIELDS.filter((f) => f !== 'recoveryCodesUnused'));
  });
});

describe('withChanges', () => {
  it('is { ...record, ...changes } on a frozen input, which it leaves unchanged', () => {
    const record = sampleRecord({ recoveryCodesUnused: { generation: 3, count: 7 } });
    deepFreeze(record);
    const changes = { failures: 0, lockedUntil: null, recoveryCodesUnused: { generation: 4, count: 10 } };
    const next = withChanges(record, changes);
    expect(next).toEqual({ ...record, ...changes });
    expect(Object.keys(next).sort()).toEqual(LAYOUT_FIELDS);
    expect(record.failures).toBe(3);
  });

  it('adds an optional field the record did not have', () => {
    const older = sampleRecord();
    const next = withChanges(older, { recoveryCodesUnused: { generation: 3, count: 10 } });
    expect(next.recoveryCodesUnused).toEqual({ generation: 3, count: 10 });
    expect('recoveryCodesUnused' in older).toBe(false);
  });
});

describe('records and factors the service writes keep exactly the layout fields', () => {
  it('through enrollment, logins, failures, a lock, recovery, regeneration and a step-up', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const fields = async () => Object.keys((await h.record('alice'))!).sort();
    const totpFields = Object.keys((await h.totpFactor('alice'))!).sort();
    expect(totpFields).toEqual(Object.keys(sampleRecord().factors[0]!).sort());
    const seen: string[][] = [await fields()];
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    seen.push(await fields());
    for (let i = 0; i < 5; i++) await h.login('alice', { totp: h.wrongCode(u.secret) });
    seen.push(await fields());
    ok(await h.mfa.unlock('alice'));
    h.clock.advance(HOUR);
    ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    seen.push(await fields());
    h.clock.advance(HOUR);
    const start = ok(await h.mfa.startStepUp('alice'));
    ok(await h.mfa.verifyStepUp(start.challenge, { totp: h.freshCode(u.secret) }));
    seen.push(await fields());
    for (const keys of seen) {
      // A record that never had a set revealed before this version may lack the optional count; these all have it.
      expect(keys).toEqual(LAYOUT_FIELDS);
    }
    // The factor a login wrote back has the same fields, with the step it accepted.
    expect(Object.keys((await h.totpFactor('alice'))!).sort()).toEqual(totpFields);
    expect((await h.totpFactor('alice'))!.lastStep).not.toBeNull();
  });
});
