import { types } from 'node:util';

/*
 * Deep copies with exactly the result of a JSON round trip, without the JSON
 * text: what MemoryUserStore keeps instead of each record's JSON string.
 * `jsonCopy` takes any value a caller hands in; `copyJsonData` copies a tree
 * `jsonCopy` made (and nothing else) several times faster.
 */

/** Deeper than this, a subtree is copied by JSON itself, whose walk detects cycles (and throws TypeError on one). */
const MAX_DEPTH = 64;
/** Longer arrays are copied by JSON itself, which fails fast where a holey array is too long to write out. */
const MAX_ARRAY_LENGTH = 1 << 20;
/**
 * V8 moves an object to (slow, large) dictionary mode when more than 16 properties are added by
 * computed key; an object with more keys than this is re-made by spread, which gives it a compact
 * fast layout (the record itself has about 30 keys).
 */
const MAX_BUILT_KEYS = 12;
/**
 * An upper bound of the JSON text's length is kept while copying; above this, the copy's own JSON
 * text (as long as the input's) is made once, so a value too long for JSON (RangeError) is refused.
 */
const TEXT_BOUND = 1 << 24;
/** Upper bound of a number's, literal's or separator's share of the text (`-1.7976931348623157e+308,`). */
const SCALAR_CHARS = 26;

const isBoxedPrimitive = types.isBoxedPrimitive;
/** `JSON.isRawJSON` where the runtime has `JSON.rawJSON` (Node 21+): such an object is written as its raw text. */
const isRawJson = (JSON as { isRawJSON?: (value: unknown) => boolean }).isRawJSON;

/** What is left of TEXT_BOUND for the copy in progress (saved and restored around a nested call from a getter or toJSON). */
let textLeft = 0;

/**
 * A deep copy equal to `JSON.parse(JSON.stringify(value))`, made without
 * the text: it throws where `JSON.stringify` throws (TypeError on a BigInt
 * or a cycle, or whatever a `toJSON` or getter throws) and returns
 * `undefined` where it returns `undefined` (`value` is undefined, a function
 * or a symbol).
 *
 * Exactly as JSON: own enumerable string keys in their order, each read
 * once; a property that is undefined, a function or a symbol is left out of
 * an object and is `null` in an array (a hole too); NaN and ±Infinity become
 * `null`, -0 becomes 0; `toJSON(key)` is called as JSON calls it (a Date
 * becomes its ISO string); a key `__proto__` is an own data property of the
 * copy, never its prototype. Every object of the result is a fresh plain
 * object or array (prototype `Object.prototype` / `Array.prototype`) that
 * shares nothing with `value`; strings are shared (immutable). What JSON
 * treats specially (a boxed primitive, a raw-JSON object) and anything
 * nested over 64 deep is handed to JSON itself for that subtree.
 */
export function jsonCopy(value: unknown): unknown {
  const outer = textLeft;
  textLeft = TEXT_BOUND;
  try {
    const copy = copyProperty(value, '', 0);
    // The copy's text is the input's text: JSON refuses it if it is too long (RangeError).
    if (textLeft < 0) JSON.stringify(copy);
    return copy;
  } finally {
    textLeft = outer;
  }
}

/** JSON's SerializeJSONProperty for `value`, the property `key` of its holder: toJSON first, then the copy. */
function copyProperty(value: unknown, key: string | number, depth: number): unknown {
  // Primitives are never asked for toJSON: written here (the common case), as in copyJsonForm.
  switch (typeof value) {
    case 'string':
      textLeft -= 6 * value.length + SCALAR_CHARS;
      return value;
    case 'number':
      textLeft -= SCALAR_CHARS;
      return value - value === 0 ? value + 0 : null;
    case 'boolean':
      textLeft -= SCALAR_CHARS;
      return value;
    case 'object':
      if (value === null) {
        textLeft -= SCALAR_CHARS;
        return null;
      }
      break;
    case 'function':
    case 'bigint':
      break;
    default:
      return undefined; // undefined, symbol
  }
  // An object, a function or a BigInt: JSON asks it for toJSON (once), with the key as a string.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return copyJsonForm(toJSON.call(value, typeof key === 'string' ? key : String(key)), key, depth);
  if (typeof value !== 'object') return copyJsonForm(value, key, depth);
  textLeft -= SCALAR_CHARS;
  return copyObject(value, key, depth);
}

/** The copy of a value toJSON has been asked for already (it is not asked again, as in JSON). */
function copyJsonForm(value: unknown, key: string | number, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      textLeft -= 6 * value.length + SCALAR_CHARS; // at most 6 characters (\uXXXX) per code unit
      return value;
    case 'number':
      textLeft -= SCALAR_CHARS;
      // Not finite → null; `+ 0` turns -0 into 0 and leaves every other number as it is.
      return value - value === 0 ? value + 0 : null;
    case 'boolean':
      textLeft -= SCALAR_CHARS;
      return value;
    case 'object':
      textLeft -= SCALAR_CHARS;
      return value === null ? null : copyObject(value, key, depth);
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    default:
      return undefined; // undefined, a function, a symbol: no JSON form
  }
}

function copyObject(value: object, key: string | number, depth: number): unknown {
  if (depth >= MAX_DEPTH) return viaJson(value, key);
  if (Array.isArray(value)) {
    const length: unknown = value.length;
    // Anything but an array length JSON can write out quickly (or a proxy's odd length) is JSON's to handle.
    if (typeof length !== 'number' || !(length >= 0 && length <= MAX_ARRAY_LENGTH) || length % 1 !== 0) return viaJson(value, key);
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      const item = copyProperty(value[i], i, depth + 1);
      if (item === undefined) {
        textLeft -= SCALAR_CHARS; // written as null
        out[i] = null;
      } else {
        out[i] = item;
      }
    }
    return out;
  }
  // Number, String, Boolean and BigInt objects are written as their primitive.
  if (isBoxedPrimitive(value)) return viaJson(value, key);
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'rawJSON' && isRawJson?.(value)) return viaJson(value, key);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i]!;
    const item = copyProperty((value as Record<string, unknown>)[name], name, depth + 1);
    if (item === undefined) continue;
    textLeft -= 6 * name.length + 4;
    if (name === '__proto__') defineOwn(out, name, item);
    else out[name] = item;
  }
  return keys.length > MAX_BUILT_KEYS ? { ...out } : out;
}

/**
 * JSON's own round trip of `value` (toJSON already asked) as the property `key` of its holder.
 * The replacer puts `value` in place of a placeholder, so JSON does not ask it for toJSON again;
 * everything inside it is serialized by JSON as usual (and cycles through it throw TypeError).
 */
function viaJson(value: object, key: string | number): unknown {
  const name = typeof key === 'string' ? key : String(key);
  // A holder with no prototype: nothing inherited (a toJSON, a __proto__ setter) gets in the way.
  const holder = Object.create(null) as Record<string, unknown>;
  holder[name] = null;
  const text = JSON.stringify(holder, function (this: unknown, property: string, item: unknown) {
    return this === holder && property === name ? value : item;
  });
  textLeft -= text.length;
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return Object.hasOwn(parsed, name) ? parsed[name] : undefined;
}

function defineOwn(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * A fresh, mutable deep copy of a tree {@link jsonCopy} returned: what a
 * JSON round trip of it gives, made several times faster, because such a
 * tree is plain data already (plain objects and arrays with no holes,
 * strings, finite numbers, booleans, null). Not for anything else: it does
 * not check (a toJSON or getter would be copied as is).
 */
export function copyJsonData<T>(data: T): T {
  return copyData(data) as T;
}

function copyData(data: unknown): unknown {
  if (typeof data !== 'object' || data === null) return data;
  if (Array.isArray(data)) {
    const length = data.length;
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = copyData(data[i]);
    return out;
  }
  // Spread copies own properties only, in order and with the same compact layout; a key __proto__
  // becomes an own data property, which the assignment below then updates (it shadows the setter).
  const out: Record<string, unknown> = { ...data };
  for (const name in out) {
    const item = out[name];
    // hasOwn: an enumerable property someone added to Object.prototype must not become an own one.
    if (typeof item === 'object' && item !== null && Object.hasOwn(out, name)) out[name] = copyData(item);
  }
  return out;
}
