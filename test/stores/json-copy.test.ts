import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { prng } from '../support/prng.ts';
import { isMfaError, MemoryUserStore, type StoredMfaRecord } from 'twofold';
import { sampleRecord } from 'twofold/testing';
import { copyJsonData, jsonCopy } from '../../src/stores/json-copy.ts';

/** What a database adapter stores and reads back: the reference jsonCopy must equal. */
function roundTrip(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

/** Every object reachable from `value` through own data properties (getters are not called). */
function objectsOf(value: unknown, seen = new Set<object>()): Set<object> {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) return seen;
  seen.add(value);
  for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(value))) {
    if ('value' in descriptor) objectsOf(descriptor.value, seen);
  }
  return seen;
}

/** The copy is plain JSON data throughout: fresh objects and arrays, Object.prototype / Array.prototype, mutable. */
function expectPlainFreshData(copy: unknown, source: unknown): void {
  if (copy === undefined) return; // no JSON form at all (undefined, a function, a symbol)
  const sourceObjects = objectsOf(source);
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) {
      expect(['string', 'number', 'boolean'].includes(typeof node) || node === null, `unexpected ${typeof node} in copy`).toBe(true);
      if (typeof node === 'number') expect(Number.isFinite(node) && !Object.is(node, -0)).toBe(true);
      return;
    }
    expect(sourceObjects.has(node), 'the copy shares an object with its source').toBe(false);
    expect(Object.isFrozen(node)).toBe(false);
    if (Array.isArray(node)) {
      expect(Object.getPrototypeOf(node)).toBe(Array.prototype);
      for (let i = 0; i < node.length; i++) {
        expect(Object.hasOwn(node, i), 'a hole in a copied array').toBe(true);
        walk(node[i]);
      }
    } else {
      expect(Object.getPrototypeOf(node)).toBe(Object.prototype);
      expect(Object.getOwnPropertySymbols(node)).toEqual([]);
      for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(node))) {
        expect(descriptor, key).toMatchObject({ writable: true, enumerable: true, configurable: true });
        walk(descriptor.value);
      }
    }
  };
  walk(copy);
}

/** jsonCopy(value) is the JSON round trip (same keys in the same order), and copyJsonData of that copy is too. */
function expectSameAsJson(value: unknown): void {
  const expected = roundTrip(value);
  const copy = jsonCopy(value);
  expect(copy).toStrictEqual(expected);
  expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
  expectPlainFreshData(copy, value);
  const again = copyJsonData(copy);
  expect(again).toStrictEqual(expected);
  expect(JSON.stringify(again)).toBe(JSON.stringify(value));
  expectPlainFreshData(again, copy);
}

function catching(run: () => unknown): unknown {
  try {
    run();
    return null;
  } catch (error) {
    return error;
  }
}

/** A TOTP user after 12 logins: the record of the performance issue. */
function typicalRecord(): Record<string, unknown> {
  return {
    schema: 2,
    factors: [
      {
        id: '5qJ9KStZegBBkKeac-ZUSw',
        kind: 'totp',
        label: 'Authenticator app',
        createdAt: 1764000015000,
        lastUsedAt: 1764000375000,
        secret: 'v1.292ac312.S4TIV7p_t3jB5_oLE4OitV6JUvfvsQ22khjhLqTfEBa9If6mpN2326VliJ2cCU4v',
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
        lastStep: 58800012,
      },
    ],
    pendingTotp: null,
    pendingWebAuthn: null,
    enabledAt: 1764000015000,
    recoveryCodeSet: 'NzwGlJidjNkfEltlhHsQpg',
    recoveryCodeKeyIds: ['292ac312'],
    unrevealedCodes: null,
    recoveryCodesCreatedAt: 1764000015000,
    spentChallenges: Array.from({ length: 12 }, (_, i) => ({ id: `vXLgp0W1DoA50k7RYq5C${String.fromCharCode(65 + i)}w`, expiresAt: 1764000345000 + i })),
    emailRecovery: null,
    devices: [],
    webauthnUserHandle: null,
    accountName: 'user-0@example.com',
    lastMfaAt: 1764000375000,
    recoveryCodeGeneration: 2,
    failures: 0,
    failuresSinceSuccess: 0,
    lockCount: 0,
    lockedUntil: null,
    lockedIndefinitely: false,
    lockReason: null,
    lockCause: null,
    challengeEpoch: 1,
    factorEpoch: 1,
  };
}

/** An object with own data properties in this order (a key `__proto__` included, as an own property). */
function withKeys(entries: Array<[string, unknown]>, proto: object | null = Object.prototype): object {
  const target = Object.create(proto) as object;
  for (const [key, value] of entries) Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  return target;
}

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
  scaled(): Point {
    return new Point(this.x * 2, this.y * 2);
  }
}

class Money {
  constructor(readonly cents: number) {}
  toJSON(key: string): string {
    return `${key}:${this.cents}`;
  }
}

class List extends Array<unknown> {}

const sparse = [1, , 3, , ,];
const withExtras = Object.assign([1, 2], { extra: 'not written' });
const getters = {
  plain: 1,
  get computed(): number {
    return 2;
  },
  get gone(): undefined {
    return undefined;
  },
};
const hidden = Object.defineProperties({ shown: 1 }, { hidden: { value: 2, enumerable: false }, [Symbol('s')]: { value: 3, enumerable: true } });
const proxied = new Proxy({ a: 1, b: [2] }, {});
const proxiedArray = new Proxy([1, undefined, { c: 3 }], {});
const args = (function (..._: unknown[]) {
  return arguments;
})(1, 'two', undefined);
const shared = { s: 1 };
const deep = (() => {
  let node: unknown = { leaf: [1, -0, NaN] };
  for (let i = 0; i < 200; i++) node = i % 2 ? { [`k${i}`]: node } : [node, i];
  return node;
})();

const deepToJson = (() => {
  // Around and past the fast copy depth, a toJSON's result that has a toJSON of its own: JSON does not ask the result again.
  const levels: unknown[] = [];
  for (let depth = 55; depth < 75; depth++) {
    let node: unknown = { toJSON: () => ({ toJSON: () => 'asked twice', x: new Date(0) }) };
    for (let i = 0; i < depth; i++) node = [node];
    levels.push(node);
  }
  return levels;
})();
const oddLength = new Proxy([1, 2, 3], { get: (target, property, receiver) => (property === 'length' ? 1.5 : Reflect.get(target, property, receiver)) });

const CASES: Array<[string, unknown]> = [
  ['the typical record (TOTP user after 12 logins)', typicalRecord()],
  ['the sample record of the conformance suite', sampleRecord()],
  ['a number', 42],
  ['a float', 0.1 + 0.2],
  ['-0', -0],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['extreme numbers', [Number.MAX_VALUE, Number.MIN_VALUE, -Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e21, 1e-7, 123456789.123456789]],
  ['a string', 'hello'],
  ['an empty string', ''],
  ['true', true],
  ['false', false],
  ['null', null],
  ['undefined at the top', undefined],
  ['a function at the top', () => 1],
  ['a symbol at the top', Symbol('x')],
  ['an empty object', {}],
  ['an empty array', []],
  ['nested arrays and objects', { a: [1, [2, [3, { b: [{}, []] }]]], c: { d: { e: { f: null } } } }],
  ['undefined, functions and symbols in an object are left out', { a: undefined, b: () => 1, c: Symbol('c'), d: 1, e: function named() {} }],
  ['undefined, functions and symbols in an array become null', [undefined, () => 1, Symbol('c'), 1]],
  ['NaN, ±Infinity and -0 inside', { nan: NaN, inf: Infinity, ninf: -Infinity, nzero: -0, list: [NaN, -0, Infinity, 0] }],
  ['a Date', new Date(1_764_000_015_000)],
  ['Dates inside', { at: new Date(0), list: [new Date(1_700_000_000_123)] }],
  ['an invalid Date', { at: new Date(NaN) }],
  ['a class instance (own fields only, no getters or methods of its prototype)', { p: new Point(3, 4) }],
  ['a toJSON called with its key', { price: new Money(250), list: [new Money(1)], top: new Money(3) }],
  ['a toJSON at the top is called with ""', new Money(7)],
  ['an own toJSON', { a: { toJSON: () => ({ replaced: true, inner: new Date(0) }) } }],
  ['a toJSON returning undefined', { a: { toJSON: () => undefined }, b: [{ toJSON: () => undefined }] }],
  ['a toJSON returning a Date (not asked for its own toJSON)', { a: { toJSON: () => new Date(0) } }],
  ['a function with a toJSON', { f: Object.assign(() => 1, { toJSON: () => 'function json' }) }],
  ['a Map and a Set', { m: new Map([['a', 1]]), s: new Set([1, 2]) }],
  ['a WeakMap, a RegExp, an Error, a Promise', { w: new WeakMap(), r: /x/g, e: new Error('boom'), p: Promise.resolve(1) }],
  ['typed arrays and an ArrayBuffer', { u8: new Uint8Array([1, 2, 3]), f64: new Float64Array([0.5, NaN]), ab: new ArrayBuffer(4) }],
  ['a Buffer (its toJSON)', { b: Buffer.from('hi') }],
  ['boxed primitives', { n: new Number(3), s: new String('ab'), b: new Boolean(false), list: [new Number(-0), new String('')] }],
  ['boxed primitives whose prototype was replaced', { n: Object.setPrototypeOf(new Number(3), Object.prototype), s: Object.setPrototypeOf(new String('ab'), Object.prototype) }],
  ['an object with no prototype', withKeys([['a', 1], ['b', { c: 2 }]], null)],
  ['an object inheriting enumerable properties (own ones only)', Object.assign(Object.create({ inherited: 1 }), { own: 2 })],
  ['getters are read', getters],
  ['non-enumerable and symbol-keyed properties are left out', hidden],
  ['a sparse array', sparse],
  ['new Array(5)', new Array(5)],
  ['an array with a non-index property', withExtras],
  ['an Array subclass', List.from([1, 2, { a: 3 }])],
  ['a proxy of an object and of an array', { proxied, proxiedArray }],
  ['an arguments object', args],
  ['the same object twice (not a cycle)', { a: shared, b: shared, list: [shared, shared] }],
  ['nested 400 deep (past the fast copy depth)', deep],
  ['a toJSON result with a toJSON of its own, nested past the fast copy depth', deepToJson],
  ['a proxy of an array with a fractional length', { oddLength }],
  ['a long string', 'x'.repeat(100_000) + '\u2028\u2029'],
  ['lone surrogates and escapes', ['\ud800', '\udc00x', 'a\udbffb', '😀', '\u0000\u001f"\\/\b\f\n\r\t', '\u007f\u0080\uffff']],
  ['unicode and awkward keys', withKeys([['ключ', 1], ['🔑', 2], ['', 3], ['\ud800', 4], ['a"b\\c', 5], ['constructor', 6], ['hasOwnProperty', 7], ['toString', 8]])],
  ['numeric-like keys are ordered as JSON orders them', withKeys([['b', 1], ['2', 2], ['a', 3], ['1', 4], ['-1', 5], ['01', 6], ['4294967295', 7], ['4294967294', 8], ['1.5', 9], ['0', 10]])],
  ['a __proto__ key at the top', JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')],
  ['a __proto__ key nested', { outer: JSON.parse('{"x": 1, "__proto__": {"polluted": [1, {"__proto__": null}]}}') }],
  ['a __proto__ key with a primitive, null or array value', [withKeys([['__proto__', 5]]), withKeys([['__proto__', null]]), withKeys([['__proto__', [1]]])]],
  ['a __proto__ key on an object with no prototype', withKeys([['__proto__', { a: 1 }], ['b', 2]], null)],
  ['a __proto__ key on a record-sized object (re-made by spread)', withKeys([...Array.from({ length: 20 }, (_, i): [string, unknown] => [`k${i}`, i]), ['__proto__', { p: 1 }]])],
  ['an object with a toJSON key that is not a function', { toJSON: 5, a: 1 }],
];

describe('jsonCopy and copyJsonData', () => {
  it.each(CASES)('%s: equal to JSON.parse(JSON.stringify(value)), key order included, sharing no object', (_, value) => {
    expectSameAsJson(value);
  });

  it('a key __proto__ comes back as an own data property, never as the prototype', () => {
    const top = jsonCopy(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')) as Record<string, unknown>;
    const nested = jsonCopy({ outer: JSON.parse('{"__proto__": {"polluted": true}}') }) as { outer: Record<string, unknown> };
    for (const node of [top, nested.outer, copyJsonData(top), copyJsonData(nested).outer]) {
      expect(Object.getPrototypeOf(node)).toBe(Object.prototype);
      expect(Object.hasOwn(node, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(node, '__proto__')?.value).toEqual({ polluted: true });
      expect((node as { polluted?: unknown }).polluted).toBeUndefined();
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('throws TypeError on a BigInt, where JSON.stringify does', () => {
    for (const value of [1n, { a: 1n }, [0, 2n], { deep: { deeper: [Object(3n)] } }]) {
      expect(() => JSON.stringify(value)).toThrow(TypeError);
      expect(() => jsonCopy(value)).toThrow(TypeError);
    }
  });

  it('honours a BigInt.prototype.toJSON, as JSON.stringify does', () => {
    const proto = BigInt.prototype as unknown as { toJSON?: () => string };
    proto.toJSON = function (this: bigint) {
      return `${this.toString()}n`;
    };
    let copy: unknown;
    let expected: unknown;
    try {
      copy = jsonCopy({ a: 12n, list: [1n] });
      expected = roundTrip({ a: 12n, list: [1n] });
    } finally {
      delete proto.toJSON;
    }
    expect(copy).toStrictEqual(expected);
    expect(copy).toStrictEqual({ a: '12n', list: ['1n'] });
  });

  it('throws TypeError on a BigInt a toJSON returned, even with a BigInt.prototype.toJSON (JSON does not ask the result)', () => {
    const proto = BigInt.prototype as unknown as { toJSON?: () => string };
    proto.toJSON = () => 'never asked';
    const value = { a: { toJSON: () => 5n } };
    let fromJson: unknown;
    let fromCopy: unknown;
    try {
      fromJson = catching(() => JSON.stringify(value));
      fromCopy = catching(() => jsonCopy(value));
    } finally {
      delete proto.toJSON;
    }
    expect(fromJson).toBeInstanceOf(TypeError);
    expect(fromCopy).toBeInstanceOf(TypeError);
  });

  it('calls every getter and toJSON as often, in the same order and with the same key and receiver, as JSON.stringify', () => {
    const make = (log: string[]): unknown => {
      const counted = (name: string, value: unknown): PropertyDescriptor => ({
        enumerable: true,
        get(this: unknown) {
          log.push(`get ${name}`);
          return value;
        },
      });
      const leaf = Object.defineProperties({}, { x: counted('leaf.x', 1), y: counted('leaf.y', [2, -0]) });
      const dated = {
        get toJSON() {
          log.push('get dated.toJSON');
          return function (this: unknown, key: string) {
            log.push(`call dated.toJSON(${JSON.stringify(key)}) on ${this === dated ? 'itself' : 'another'}`);
            return { z: 3 };
          };
        },
      };
      let deep: unknown = Object.defineProperty({}, 'bottom', counted('bottom', 'b'));
      // At every depth around the fast copy's limit: a toJSON whose result has a toJSON JSON never asks.
      const asking = (i: number): unknown => ({
        toJSON: () => {
          log.push(`toJSON ${i}`);
          return { toJSON: () => log.push(`result's toJSON ${i}`), y: i };
        },
      });
      for (let i = 0; i < 70; i++) deep = { [`d${i}`]: deep, [`t${i}`]: asking(i) };
      return Object.defineProperties(
        {},
        {
          first: counted('first', leaf),
          list: counted('list', [leaf, dated, new Proxy({}, { ownKeys: () => (log.push('ownKeys'), ['k']), getOwnPropertyDescriptor: () => (log.push('gOPD'), { value: 1, enumerable: true, configurable: true }), get: (_, p) => (log.push(`proxy get ${String(p)}`), 1) })]),
          dated: counted('dated', dated),
          deep: counted('deep', deep),
          last: counted('last', 'end'),
        },
      );
    };
    const jsonLog: string[] = [];
    const copyLog: string[] = [];
    const text = JSON.stringify(make(jsonLog));
    const copy = jsonCopy(make(copyLog));
    expect(copyLog).toEqual(jsonLog);
    expect(jsonLog).toContain('call dated.toJSON("1") on itself');
    expect(JSON.stringify(copy)).toBe(text);
  });

  it('throws TypeError on a cycle, where JSON.stringify does', () => {
    const self: Record<string, unknown> = { a: 1 };
    self.self = self;
    const ring: unknown[] = [{ b: null }];
    (ring[0] as { b: unknown }).b = { back: ring };
    const longLoop: Record<string, unknown> = {};
    let tail = longLoop;
    for (let i = 0; i < 150; i++) tail = (tail.next = {}) as Record<string, unknown>;
    tail.next = longLoop;
    const viaToJson: Record<string, unknown> = {};
    viaToJson.child = { toJSON: () => viaToJson };
    for (const value of [self, ring, longLoop, viaToJson, { wrapped: [self] }]) {
      expect(() => JSON.stringify(value)).toThrow(TypeError);
      expect(() => jsonCopy(value)).toThrow(TypeError);
    }
  });

  it('passes on what a getter or toJSON throws', () => {
    const boom = new Error('boom');
    const getter = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw boom;
      },
    });
    expect(() => jsonCopy({ a: getter })).toThrow(boom);
    expect(() => jsonCopy([{ toJSON: () => { throw boom; } }])).toThrow(boom);
  });

  it('a value over the fast estimate of the text length is still copied when JSON can write it', () => {
    const big = { a: 'y'.repeat(3_000_000), b: ['z'.repeat(10)] };
    const stringify = vi.spyOn(JSON, 'stringify');
    let copy: unknown;
    try {
      copy = jsonCopy(big);
      // The copy's own text is made once, so JSON's RangeError (text too long) would come through.
      expect(stringify).toHaveBeenCalledTimes(1);
      expect(stringify.mock.calls[0]![0]).toBe(copy);
    } finally {
      stringify.mockRestore();
    }
    expect(copy).toStrictEqual(big);
    expectPlainFreshData(copy, big);
  });

  it('a holey array longer than the fast copy handles goes through JSON', () => {
    const long = new Array<unknown>((1 << 20) + 3);
    long[5] = { a: undefined, b: -0 };
    const copy = jsonCopy({ long }) as { long: unknown[] };
    expect(copy.long.length).toBe(long.length);
    expect(copy.long[5]).toStrictEqual({ b: 0 });
    expect(copy.long[4]).toBeNull();
    expect(copy.long.at(-1)).toBeNull();
  });

  it('an enumerable property added to Object.prototype does not leak into copies (as JSON.parse ignores it)', () => {
    const data = jsonCopy(typicalRecord());
    const proto = Object.prototype as { leaked?: unknown };
    let copy: unknown;
    try {
      proto.leaked = { bad: true };
      copy = copyJsonData(data);
    } finally {
      delete proto.leaked;
    }
    expect(copy).toStrictEqual(typicalRecord());
    expectPlainFreshData(copy, data);
  });

  it('a toJSON added to Object.prototype is honoured by jsonCopy (as by JSON.stringify) and ignored by copyJsonData (as by JSON.parse)', () => {
    const data = jsonCopy({ a: { b: 1 } });
    const proto = Object.prototype as { toJSON?: unknown };
    let copied: unknown;
    let expected: unknown;
    let again: unknown;
    try {
      proto.toJSON = function (key: string) {
        return `toJSON(${key})`;
      };
      copied = jsonCopy({ a: { b: 1 } });
      expected = roundTrip({ a: { b: 1 } });
      again = copyJsonData(data);
    } finally {
      delete proto.toJSON;
    }
    expect(copied).toBe('toJSON()');
    expect(copied).toStrictEqual(expected);
    expect(again).toStrictEqual({ a: { b: 1 } });
  });

  it('a getter that calls jsonCopy itself (nested copy) leaves the outer copy intact', () => {
    const outer = {
      get inner() {
        return jsonCopy({ x: [1, 'two'] });
      },
      after: 'y'.repeat(3_000_000),
    };
    expect(jsonCopy(outer)).toStrictEqual(roundTrip(outer));
  });

  it('copies of a copy are independent of each other', () => {
    const data = jsonCopy(typicalRecord()) as ReturnType<typeof typicalRecord>;
    const first = copyJsonData(data);
    (first.spentChallenges as Array<{ id: string }>)[0]!.id = 'mutated';
    (first.factors as unknown[]).push('extra');
    first.failures = 99;
    expect(copyJsonData(data)).toStrictEqual(typicalRecord());
    expect(data).toStrictEqual(typicalRecord());
  });
});

function randomValues(seed: number, count: number): unknown[] {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const KEYS = ['a', 'b', 'id', '__proto__', 'toJSON', 'constructor', '0', '1', '10', '-1', '01', '4294967295', '', 'ключ', '🔑', '\ud800', 'x y'];
  const NUMBERS = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, 1764000015000, 1e21, 1e-7];
  const string = (): string => {
    const length = int(12);
    let s = '';
    for (let i = 0; i < length; i++) {
      const r = random();
      s += String.fromCharCode(r < 0.6 ? 32 + int(95) : r < 0.7 ? int(32) : r < 0.8 ? 0xd800 + int(0x800) : int(0x10000));
    }
    return s;
  };
  const key = (): string => (random() < 0.6 ? pick(KEYS) : string());
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 4 || r < 0.35) {
      switch (int(9)) {
        case 0:
          return null;
        case 1:
          return random() < 0.5;
        case 2:
        case 3:
          return random() < 0.5 ? pick(NUMBERS) : (random() - 0.5) * 10 ** int(30);
        case 4:
        case 5:
          return string();
        case 6:
          return undefined;
        case 7:
          return random() < 0.5 ? () => 1 : Symbol('s');
        default:
          return int(1000);
      }
    }
    if (r < 0.6) {
      const length = int(6);
      const list: unknown[] = [];
      list.length = length;
      for (let i = 0; i < length; i++) if (random() < 0.9) list[i] = value(depth + 1);
      return list;
    }
    if (r < 0.9) {
      const entries: Array<[string, unknown]> = [];
      const size = random() < 0.1 ? 14 + int(10) : int(6);
      for (let i = 0; i < size; i++) entries.push([key(), value(depth + 1)]);
      return withKeys(entries, random() < 0.1 ? null : Object.prototype);
    }
    switch (int(7)) {
      case 0:
        return new Date(int(2_000_000_000_000));
      case 1:
        return new Map([[1, value(depth + 1)]]);
      case 2:
        return new Point(int(10), random());
      case 3:
        return new Money(int(100));
      case 4:
        return { toJSON: () => value(depth + 1) };
      case 5:
        return pick([new Number(pick(NUMBERS)), new String(string()), new Boolean(random() < 0.5)]);
      default:
        return new Uint8Array([int(256), int(256)]);
    }
  };
  return Array.from({ length: count }, () => value(0));
}

describe('jsonCopy on random JSON-ish values (seeded)', () => {
  it.each([1, 2, 3])('seed %i: 1,500 values, each equal to its JSON round trip', (seed) => {
    // The generator's toJSON builds a fresh value on each call: generate twice, copy one and stringify the other.
    const values = randomValues(seed, 1_500);
    const twins = randomValues(seed, 1_500);
    let checked = 0;
    for (let i = 0; i < values.length; i++) {
      const text = JSON.stringify(twins[i]);
      const copy = jsonCopy(values[i]);
      const expected = text === undefined ? undefined : JSON.parse(text);
      if (!isDeepStrictEqual(copy, expected) || JSON.stringify(copy) !== text) {
        expect({ index: i, copy, text }).toStrictEqual({ index: i, copy: expected, text: JSON.stringify(copy) });
      }
      const again = copyJsonData(copy);
      if (!isDeepStrictEqual(again, expected)) expect({ index: i, again }).toStrictEqual({ index: i, again: expected });
      if (i % 50 === 0) expectPlainFreshData(copy, values[i]);
      checked++;
    }
    expect(checked).toBe(1_500);
  });
});

describe('MemoryUserStore keeps exactly what a JSON round trip gives', () => {
  it('get returns the JSON round trip of what was put, a fresh copy each time', async () => {
    const users = new MemoryUserStore();
    const record = { ...sampleRecord(), at: new Date(0), gone: undefined, nan: NaN, list: [undefined, -0] } as unknown as StoredMfaRecord;
    expect(await users.put('alice', record, null)).toBe(true);
    const first = await users.get('alice');
    const second = await users.get('alice');
    expect(first).toStrictEqual({ record: roundTrip(record), version: 1 });
    expect(second).toStrictEqual(first);
    expect(second!.record).not.toBe(first!.record);
    const factorsOf = (got: typeof first): unknown => (got!.record as unknown as { factors: unknown }).factors;
    expect(factorsOf(second)).not.toBe(factorsOf(first));
  });

  it('refuses what JSON.stringify refuses (BigInt, cycle) with its TypeError, and stores nothing', async () => {
    const users = new MemoryUserStore();
    const cyclic = sampleRecord() as unknown as Record<string, unknown>;
    cyclic.self = cyclic;
    const withBigInt = { ...sampleRecord(), failures: 1n } as unknown as StoredMfaRecord;
    await expect(users.put('alice', cyclic as unknown as StoredMfaRecord, null)).rejects.toThrow(TypeError);
    await expect(users.put('alice', withBigInt, null)).rejects.toThrow(TypeError);
    expect(await users.get('alice')).toBeNull();
    expect(users.size).toBe(0);
    expect(await users.put('alice', sampleRecord(), null)).toBe(true);
    await expect(users.put('alice', withBigInt, 1)).rejects.toThrow(TypeError);
    expect(await users.get('alice')).toStrictEqual({ record: sampleRecord(), version: 1 });
  });

  it('refuses a record with no JSON text (undefined) as the database adapters do: MfaError invalid_argument', async () => {
    const users = new MemoryUserStore();
    const error = await users.put('alice', undefined as unknown as StoredMfaRecord, null).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isMfaError(error, 'invalid_argument'), String(error)).toBe(true);
    expect(await users.get('alice')).toBeNull();
  });

  it('a __proto__ key in a record is stored and returned as an own property', async () => {
    const users = new MemoryUserStore();
    const record = Object.assign(JSON.parse('{"__proto__": {"isAdmin": true}}'), sampleRecord()) as StoredMfaRecord;
    expect(await users.put('alice', record, null)).toBe(true);
    const got = (await users.get('alice'))!.record as unknown as Record<string, unknown>;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.hasOwn(got, '__proto__')).toBe(true);
    expect(got.isAdmin).toBeUndefined();
    expect(JSON.stringify(got)).toBe(JSON.stringify(record));
  });
});
