import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import { CborError, decodeCbor, type CborMap } from './cbor.ts';

/**
 * COSE algorithms twofold accepts for a credential key: ES256 (ECDSA P-256
 * with SHA-256), EdDSA (Ed25519) and RS256 (RSASSA-PKCS1-v1_5 with SHA-256),
 * the three every browser and authenticator can produce.
 */
export type CoseAlgorithm = -7 | -8 | -257;

/** In the order offered in `pubKeyCredParams`: EdDSA, ES256, RS256. */
export const COSE_ALGORITHMS: readonly CoseAlgorithm[] = [-8, -7, -257];

/**
 * A credential public key, checked and ready to verify signatures.
 *
 * @inline
 */
export interface CosePublicKey {
  /** The COSE algorithm the key signs with. */
  readonly alg: CoseAlgorithm;
  /** The imported node:crypto public key. */
  readonly keyObject: KeyObject;
  /** base64url of the COSE_Key bytes it was imported from: its stored form. */
  readonly stored: string;
}

/** Why COSE_Key bytes were refused. */
export type CoseKeyFailure =
  /** Not a strict CBOR map of integer labels, or a parameter of the wrong type or not allowed for the key type. */
  | 'malformed'
  /** A key type, algorithm or curve other than ES256/P-256, EdDSA/Ed25519 or RS256. */
  | 'unsupported_algorithm'
  /** Wrong coordinate lengths, a point off the curve, or an RSA modulus outside 2048..4096 bits. */
  | 'invalid_key';

export type CoseKeyResult = { ok: true; key: CosePublicKey } | { ok: false; reason: CoseKeyFailure };

const KTY = 1;
const ALG = 3;
const CRV = -1;
const X = -2;
const Y = -3;
const N = -1;
const E = -2;

const KTY_OKP = 1;
const KTY_EC2 = 2;
const KTY_RSA = 3;
const CRV_P256 = 1;
const CRV_ED25519 = 6;

/** Exactly the labels each key type may carry: anything else (a private `d`, a `kid`) is refused. */
const LABELS: Record<number, readonly number[]> = {
  [KTY_EC2]: [KTY, ALG, CRV, X, Y],
  [KTY_OKP]: [KTY, ALG, CRV, X],
  [KTY_RSA]: [KTY, ALG, N, E],
};
const ALG_OF_KTY: Record<number, CoseAlgorithm> = { [KTY_EC2]: -7, [KTY_OKP]: -8, [KTY_RSA]: -257 };

/** Largest COSE key accepted (an RSA-4096 key is about 530 bytes). */
export const MAX_COSE_KEY_BYTES = 1024;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 4096;

/**
 * Imports a COSE_Key (RFC 9053) as a node:crypto public key, refusing
 * anything but the three supported algorithms with exactly their
 * parameters. The algorithm is fixed here, at import, so a signature can
 * never be checked under an algorithm the key was not registered with.
 */
export function importCoseKey(cose: Uint8Array): CoseKeyResult {
  if (!(cose instanceof Uint8Array) || cose.length > MAX_COSE_KEY_BYTES) return { ok: false, reason: 'malformed' };
  let map: unknown;
  try {
    map = decodeCbor(cose);
  } catch (error) {
    if (error instanceof CborError) return { ok: false, reason: 'malformed' };
    throw error;
  }
  if (!(map instanceof Map)) return { ok: false, reason: 'malformed' };
  const kty = map.get(KTY);
  const alg = map.get(ALG);
  if (typeof kty !== 'number' || typeof alg !== 'number') return { ok: false, reason: 'malformed' };
  const labels = LABELS[kty];
  if (labels === undefined || ALG_OF_KTY[kty] !== alg) return { ok: false, reason: 'unsupported_algorithm' };
  for (const label of map.keys()) {
    if (typeof label !== 'number' || !labels.includes(label)) return { ok: false, reason: 'malformed' };
  }
  const jwk = toJwk(kty, map as CborMap);
  if (typeof jwk === 'string') return { ok: false, reason: jwk };
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return { ok: false, reason: 'invalid_key' };
  }
  if (kty === KTY_RSA && !isAcceptableRsa(keyObject)) return { ok: false, reason: 'invalid_key' };
  return { ok: true, key: { alg: alg as CoseAlgorithm, keyObject, stored: encodeBase64Url(cose) } };
}

function toJwk(kty: number, map: CborMap): Record<string, string> | CoseKeyFailure {
  if (kty === KTY_RSA) {
    const n = map.get(N);
    const e = map.get(E);
    if (!(n instanceof Uint8Array) || !(e instanceof Uint8Array)) return 'malformed';
    // Minimal big-endian unsigned integers; an exponent over 32 bits is no real key.
    if (n.length === 0 || n[0] === 0 || e.length === 0 || e.length > 4 || e[0] === 0) return 'invalid_key';
    return { kty: 'RSA', n: encodeBase64Url(n), e: encodeBase64Url(e) };
  }
  const x = map.get(X);
  const y = map.get(Y);
  if (!(x instanceof Uint8Array)) return 'malformed';
  if (kty === KTY_OKP) {
    if (map.get(CRV) !== CRV_ED25519) return 'unsupported_algorithm';
    if (x.length !== 32) return 'invalid_key';
    return { kty: 'OKP', crv: 'Ed25519', x: encodeBase64Url(x) };
  }
  // A compressed point (`y` a boolean) is malformed: WebAuthn keys carry both coordinates.
  if (!(y instanceof Uint8Array)) return 'malformed';
  if (map.get(CRV) !== CRV_P256) return 'unsupported_algorithm';
  if (x.length !== 32 || y.length !== 32) return 'invalid_key';
  return { kty: 'EC', crv: 'P-256', x: encodeBase64Url(x), y: encodeBase64Url(y) };
}

/** 2048..4096-bit modulus, odd exponent of at least 3: smaller keys are breakable, larger ones a CPU sink. */
function isAcceptableRsa(key: KeyObject): boolean {
  const { modulusLength, publicExponent } = key.asymmetricKeyDetails ?? {};
  return (
    modulusLength !== undefined &&
    modulusLength >= MIN_RSA_BITS &&
    modulusLength <= MAX_RSA_BITS &&
    publicExponent !== undefined &&
    publicExponent >= 3n &&
    publicExponent % 2n === 1n
  );
}

/**
 * Verifies `signature` over `data` with `key` under the key's own
 * algorithm, in WebAuthn's encodings: ECDSA as DER (OpenSSL refuses
 * non-canonical DER), Ed25519 as 64 raw bytes, RSA as PKCS#1 v1.5 over
 * SHA-256 — node:crypto's defaults for these key types, so the key object
 * is passed as is (workerd's node:crypto refuses a `{ key, dsaEncoding }` or
 * `{ key, padding }` wrapper around a KeyObject). Never throws: a malformed
 * signature is simply `false`.
 */
export function verifyCoseSignature(key: CosePublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (key.alg) {
      case -7:
        return verify('sha256', data, key.keyObject, signature);
      case -8:
        return verify(null, data, key.keyObject, signature);
      case -257:
        return verify('sha256', data, key.keyObject, signature);
    }
  } catch {
    return false;
  }
}

/**
 * The stored form of a key: base64url of its COSE_Key bytes, exactly what
 * registration returns as `publicKey`. Public data, safe to store in clear.
 */
export function exportCoseKey(key: CosePublicKey): string {
  return key.stored;
}

/** Keys imported by {@link importStoredCoseKey}, most recently used last. */
const storedKeyCache = new Map<string, CosePublicKey>();
/** Enough for every active credential of a busy server; each entry is a few hundred bytes. */
export const STORED_KEY_CACHE_SIZE = 1000;

/**
 * Imports a stored key (see {@link exportCoseKey}), caching the result: the
 * login hot path then skips CBOR decoding and key import. Caching is safe
 * because keys are public, immutable, and keyed by their full stored text,
 * so a hit is exactly what a fresh import would return; failures are never
 * cached.
 */
export function importStoredCoseKey(stored: string): CoseKeyResult {
  const cached = storedKeyCache.get(stored);
  if (cached !== undefined) {
    storedKeyCache.delete(stored);
    storedKeyCache.set(stored, cached);
    return { ok: true, key: cached };
  }
  const bytes = decodeBase64Url(stored, MAX_COSE_KEY_BYTES);
  if (bytes === null) return { ok: false, reason: 'malformed' };
  const result = importCoseKey(bytes);
  if (result.ok) {
    storedKeyCache.set(stored, result.key);
    if (storedKeyCache.size > STORED_KEY_CACHE_SIZE) {
      storedKeyCache.delete(storedKeyCache.keys().next().value!);
    }
  }
  return result;
}
