import { timingSafeEqual } from 'node:crypto';
import { decodeBase64Url } from './base64url.ts';
import { isRecord } from './ceremony.ts';

/** What a ceremony's client data must say. */
export interface ExpectedClientData {
  /** `'webauthn.get'` for an assertion, `'webauthn.create'` for a registration. */
  type: 'webauthn.get' | 'webauthn.create';
  /** The base64url challenges the server accepts (usually one). */
  challenges: readonly string[];
  /** Exact origins (`https://example.com`) the ceremony may run on. */
  origins: readonly string[];
}

/** Why client data was refused. */
export type ClientDataFailure =
  /** Not UTF-8 JSON of an object with string `type`, `challenge` and `origin`. */
  | 'malformed_client_data'
  /** A `type` other than the ceremony's: a registration replayed as a login, or the reverse. */
  | 'wrong_type'
  /** Not the challenge issued: a replayed or foreign ceremony. */
  | 'challenge_mismatch'
  /** Run on an origin not in the list: a phishing site relaying the ceremony. */
  | 'origin_mismatch'
  /** Run inside a cross-origin frame (`crossOrigin` true or a `topOrigin`): another site embedding ours. */
  | 'cross_origin';

/** Far above what browsers send (about 200 bytes) and what any client adds. */
export const MAX_CLIENT_DATA_BYTES = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks clientDataJSON (WebAuthn §5.8.1) against what the server expects.
 * Token binding is ignored, as WebAuthn Level 3 does. Never throws.
 */
export function checkClientData(
  bytes: Uint8Array,
  expected: ExpectedClientData,
): { ok: true } | { ok: false; reason: ClientDataFailure } {
  if (bytes.length > MAX_CLIENT_DATA_BYTES) return { ok: false, reason: 'malformed_client_data' };
  let data: unknown;
  try {
    data = JSON.parse(utf8.decode(bytes));
  } catch {
    return { ok: false, reason: 'malformed_client_data' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, reason: 'malformed_client_data' };
  }
  const { type, challenge, origin, crossOrigin, topOrigin } = data as Record<string, unknown>;
  if (typeof type !== 'string' || typeof challenge !== 'string' || typeof origin !== 'string') {
    return { ok: false, reason: 'malformed_client_data' };
  }
  if (type !== expected.type) return { ok: false, reason: 'wrong_type' };
  if (!expected.challenges.some((c) => sameString(challenge, c))) return { ok: false, reason: 'challenge_mismatch' };
  if (!expected.origins.includes(origin)) return { ok: false, reason: 'origin_mismatch' };
  if ((crossOrigin !== undefined && crossOrigin !== false) || topOrigin !== undefined) {
    return { ok: false, reason: 'cross_origin' };
  }
  return { ok: true };
}

/**
 * The challenge a response's clientDataJSON carries, unverified, or null
 * when it has none: lets the service find the pending registration a
 * response answers before verifying it. Never throws.
 */
export function clientDataChallenge(response: unknown): string | null {
  const inner = isRecord(response) ? response.response : undefined;
  const bytes = decodeBase64Url(isRecord(inner) ? inner.clientDataJSON : undefined, MAX_CLIENT_DATA_BYTES);
  if (bytes === null) return null;
  try {
    const { challenge } = JSON.parse(utf8.decode(bytes)) as { challenge?: unknown };
    return typeof challenge === 'string' ? challenge : null;
  } catch {
    return null;
  }
}

/** Constant-time in the content, so the challenge compare leaks no prefix length. */
function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
