/**
 * The runtime-matrix scenario: what a user of the published package does,
 * run unchanged on Node, Bun, Deno and inside a Cloudflare Worker (workerd,
 * nodejs_compat). It imports twofold by package name, so it must sit in a
 * project that has the packed tarball installed (run.sh copies it there).
 *
 * Plain JavaScript on web APIs only (WebCrypto, TextEncoder, btoa,
 * DecompressionStream), so the scenario itself needs nothing from any one
 * runtime: every node:* use is twofold's own. Every result is asserted; the
 * first unexpected value throws with the value in the message.
 *
 * `runScenario()` resolves to a summary; cli.mjs runs it on Node, Bun and
 * Deno, worker.mjs inside a Worker's fetch handler (workerd forbids random
 * values at module scope, so nothing here runs at import).
 */
import {
  MemoryRecoveryCodeStore,
  MemoryUserStore,
  MfaService,
  buildOtpauthUri,
  formatRecoveryCodesText,
  generateRecoveryCodes,
  generateSecret,
  generateTotp,
  hashRecoveryCode,
  isMfaError,
  normalizeRecoveryCode,
  parseOtpauthUri,
  recoveryCodesFilename,
  renderQr,
  verifyTotp,
} from 'twofold';
import { webauthn } from 'twofold/webauthn';

// ---------------------------------------------------------------- checks

let checks = 0;

function fail(label, actual) {
  let shown;
  try {
    shown = typeof actual === 'string' ? JSON.stringify(actual) : JSON.stringify(actual, (_, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v));
  } catch {
    shown = String(actual);
  }
  throw new Error(`scenario check failed: ${label}: got ${shown?.slice(0, 600)}`);
}

/** `predicate(actual)` must hold. */
function check(label, actual, predicate) {
  checks += 1;
  if (!predicate(actual)) fail(label, actual);
  return actual;
}

function equal(label, actual, expected) {
  return check(`${label} (expected ${JSON.stringify(expected)})`, actual, (a) => a === expected);
}

/** `result` must be `{ ok: true, ...fields }`. */
function ok(label, result, fields = {}) {
  return check(`${label} (expected ok ${JSON.stringify(fields)})`, result, (r) => r?.ok === true && matches(r, fields));
}

/** `result` must be `{ ok: false, reason, ...fields }`. */
function refused(label, result, reason, fields = {}) {
  return check(`${label} (expected ${reason} ${JSON.stringify(fields)})`, result, (r) => r?.ok === false && r.reason === reason && matches(r, fields));
}

function matches(actual, fields) {
  return Object.entries(fields).every(([key, value]) => {
    if (typeof value === 'function') return value(actual[key]);
    if (Array.isArray(value)) return Array.isArray(actual[key]) && actual[key].length === value.length && value.every((v, i) => actual[key][i] === v);
    return actual[key] === value;
  });
}

/** `promise` must reject with MfaError(code). */
async function rejects(label, promise, code) {
  checks += 1;
  try {
    const value = await promise;
    fail(`${label} (expected MfaError ${code})`, value);
  } catch (error) {
    if (!isMfaError(error) || error.code !== code) fail(`${label} (expected MfaError ${code})`, String(error));
  }
}

// ---------------------------------------------------------------- bytes

const utf8 = (text) => new TextEncoder().encode(text);

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function b64url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromB64(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

// ---------------------------------------------------------------- 1. primitives: RFC vectors and the pure building blocks

/** RFC 6238 Appendix B: [unix seconds, algorithm, 8-digit code]; seeds are ASCII, 20/32/64 bytes. */
const RFC6238 = [
  [59, 'SHA1', '94287082'], [59, 'SHA256', '46119246'], [59, 'SHA512', '90693936'],
  [1111111109, 'SHA1', '07081804'], [1111111109, 'SHA256', '68084774'], [1111111109, 'SHA512', '25091201'],
  [1111111111, 'SHA1', '14050471'], [1111111111, 'SHA256', '67062674'], [1111111111, 'SHA512', '99943326'],
  [1234567890, 'SHA1', '89005924'], [1234567890, 'SHA256', '91819424'], [1234567890, 'SHA512', '93441116'],
  [2000000000, 'SHA1', '69279037'], [2000000000, 'SHA256', '90698825'], [2000000000, 'SHA512', '38618901'],
  [20000000000, 'SHA1', '65353130'], [20000000000, 'SHA256', '77737706'], [20000000000, 'SHA512', '47863826'],
];
const RFC6238_SEED = { SHA1: '12345678901234567890', SHA256: '12345678901234567890123456789012', SHA512: '1234567890123456789012345678901234567890123456789012345678901234' };
/** RFC 4226 Appendix D: HOTP-SHA1 codes for counters 0..9 (a TOTP with counter = floor(t / period)). */
const RFC4226 = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

async function primitives() {
  for (const [seconds, algorithm, code] of RFC6238) {
    const seed = utf8(RFC6238_SEED[algorithm]);
    equal(`RFC 6238 ${algorithm} t=${seconds}`, generateTotp(seed, { now: seconds * 1000, algorithm, digits: 8 }), code);
    check(`RFC 6238 ${algorithm} t=${seconds} verifies`, verifyTotp(seed, code, { now: seconds * 1000, algorithm, digits: 8 }), (r) => r?.delta === 0);
  }
  RFC4226.forEach((code, counter) => {
    equal(`RFC 4226 counter ${counter}`, generateTotp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', { now: counter * 30_000 }), code);
  });

  const secret = check('generateSecret', generateSecret(), (s) => typeof s === 'string' && /^[A-Z2-7]{32}$/.test(s));
  const now = Date.UTC(2025, 0, 1, 12);
  const code = generateTotp(secret, { now });
  check('verifyTotp current step', verifyTotp(secret, code, { now }), (r) => r?.delta === 0);
  check('verifyTotp one step later', verifyTotp(secret, code, { now: now + 30_000 }), (r) => r?.delta === -1);
  equal('verifyTotp outside the window', verifyTotp(secret, code, { now: now + 90_000 }), null);
  equal('verifyTotp garbage', verifyTotp(secret, 'garbage', { now }), null);

  const uri = buildOtpauthUri({ issuer: 'Example App', accountName: 'alice@example.com', secret });
  check('buildOtpauthUri', uri, (u) => u.startsWith('otpauth://totp/Example%20App:alice%40example.com?') && u.includes(`secret=${secret}`));
  ok('parseOtpauthUri', { ok: true, ...parseOtpauthUri(uri) }, { issuer: 'Example App', accountName: 'alice@example.com', secret, algorithm: 'SHA1', digits: 6, period: 30 });
  await rejects('parseOtpauthUri refuses junk', (async () => parseOtpauthUri('https://example.com'))(), 'invalid_uri');

  const codes = check('generateRecoveryCodes', generateRecoveryCodes(), (c) => c.length === 10 && new Set(c).size === 10 && c.every((x) => /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/.test(x)));
  equal('normalizeRecoveryCode forgives case and spaces', normalizeRecoveryCode(codes[0].toLowerCase().replace(/-/g, ' ')), codes[0].replace(/-/g, ''));
  equal('normalizeRecoveryCode junk', normalizeRecoveryCode('nope'), null);
  const hash = check('hashRecoveryCode', hashRecoveryCode('user-42', codes[0]), (h) => /^[0-9a-f]{64}$/.test(h));
  check('hashRecoveryCode is bound to the user', hashRecoveryCode('user-43', codes[0]), (h) => h !== hash);
  check('formatRecoveryCodesText', formatRecoveryCodesText({ issuer: 'Example App', accountName: 'alice@example.com', codes, createdAt: now }), (t) => t.includes('2025-01-01T12:00:00') && codes.every((c) => t.includes(c)));
  equal('recoveryCodesFilename', recoveryCodesFilename('Example App'), 'example-app-recovery-codes.txt');
  return { rfc6238: RFC6238.length, rfc4226: RFC4226.length };
}

// ---------------------------------------------------------------- 2. QR in every format

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * A well-formed 1-bit greyscale PNG: signature, chunk CRCs, square IHDR, the
 * IDAT inflating to exactly one filter byte plus the packed row per row, a
 * light quiet zone of 4 modules round a dark finder pattern. Returns the width.
 */
async function checkPng(label, png, scale) {
  check(`${label}: PNG signature`, Array.from(png.subarray(0, 8)), (s) => s.join() === PNG_SIGNATURE.join());
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks = [];
  for (let at = 8; at < png.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const body = png.subarray(at + 8, at + 8 + length);
    equal(`${label}: ${type} CRC`, view.getUint32(at + 8 + length), crc32(png.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, body });
    at += 12 + length;
  }
  check(`${label}: chunks`, chunks.map((c) => c.type), (t) => t[0] === 'IHDR' && t.at(-1) === 'IEND' && t.includes('IDAT'));
  const ihdr = new DataView(chunks[0].body.buffer, chunks[0].body.byteOffset, 13);
  const width = ihdr.getUint32(0);
  equal(`${label}: square`, ihdr.getUint32(4), width);
  check(`${label}: 1-bit greyscale`, [ihdr.getUint8(8), ihdr.getUint8(9)], ([depth, colour]) => depth === 1 && colour === 0);
  equal(`${label}: width is a whole number of modules`, width % scale, 0);
  const raw = await inflate(concat(...chunks.filter((c) => c.type === 'IDAT').map((c) => c.body)));
  const stride = 1 + Math.ceil(width / 8);
  equal(`${label}: inflated size`, raw.length, width * stride);
  const pixel = (x, y) => {
    equal(`${label}: filter of row ${y}`, raw[y * stride], 0);
    return (raw[y * stride + 1 + (x >> 3)] >> (7 - (x & 7))) & 1; // 1 = white
  };
  const quiet = 4 * scale;
  for (let i = 0; i < quiet; i += scale) {
    equal(`${label}: quiet zone row ${i}`, pixel(width >> 1, i), 1);
    equal(`${label}: quiet zone column ${i}`, pixel(i, width >> 1), 1);
  }
  equal(`${label}: top-left finder pattern is dark`, pixel(quiet, quiet), 0);
  equal(`${label}: finder pattern's light ring`, pixel(quiet + scale, quiet + scale), 1);
  return width;
}

async function qr() {
  const uri = 'otpauth://totp/Example%20App:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example%20App';
  const png = check('renderQr png', await renderQr(uri, { format: 'png' }), (p) => p instanceof Uint8Array && p.length > 100);
  const width = await checkPng('png', png, 6);
  const small = await renderQr(uri, { format: 'png', scale: 2 });
  equal('png scale 2 is a third as wide', await checkPng('png scale 2', small, 2), width / 3);
  const dataUrl = check('renderQr dataUrl', await renderQr(uri, { format: 'dataUrl' }), (d) => typeof d === 'string' && d.startsWith('data:image/png;base64,'));
  equal('dataUrl holds the same PNG', b64url(fromB64(dataUrl.slice(dataUrl.indexOf(',') + 1))), b64url(png));
  const svg = check('renderQr svg', await renderQr(uri, { format: 'svg' }), (s) => typeof s === 'string' && /<svg[\s>]/.test(s) && s.trimEnd().endsWith('</svg>'));
  check('svg has a viewBox', svg, (s) => /viewBox="0 0 \d+ \d+"/.test(s));
  const terminal = check('renderQr terminal', await renderQr(uri, { format: 'terminal' }), (t) => typeof t === 'string' && t.includes('\x1b[') && t.split('\n').length > 10);
  await rejects('renderQr refuses an empty URI', renderQr('', { format: 'svg' }), 'invalid_argument');
  return { pngWidth: width, svgLength: svg.length, terminalLines: terminal.split('\n').length };
}

// ---------------------------------------------------------------- 3. a software security key (WebCrypto)

/** Minimal CBOR (RFC 8949) encoder: unsigned/negative integers, byte and text strings, maps. */
function cbor(value) {
  const head = (major, n) => {
    if (n < 24) return Uint8Array.of((major << 5) | n);
    if (n < 0x100) return Uint8Array.of((major << 5) | 24, n);
    if (n < 0x10000) return Uint8Array.of((major << 5) | 25, n >> 8, n & 0xff);
    return Uint8Array.of((major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = utf8(value);
    return concat(head(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  if (value instanceof Map) return concat(head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)]));
  throw new Error(`cbor: cannot encode ${typeof value}`);
}

/** DER SEQUENCE { INTEGER r, INTEGER s } of a WebCrypto (IEEE P1363) ECDSA signature. */
function p1363ToDer(raw) {
  const integer = (bytes) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let v = bytes.subarray(i);
    if (v[0] & 0x80) v = concat(Uint8Array.of(0), v);
    return concat(Uint8Array.of(0x02, v.length), v);
  };
  const body = concat(integer(raw.subarray(0, 32)), integer(raw.subarray(32)));
  return concat(Uint8Array.of(0x30, body.length), body);
}

const ALGORITHMS = {
  ES256: { generate: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: { generate: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
  RS256: { generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5' } },
};

/** A security key as a browser + authenticator would answer: attestation none, counter +1 per ceremony. */
class SoftKey {
  static async create(alg) {
    const key = new SoftKey();
    key.alg = alg;
    key.id = randomBytes(32);
    key.counter = 0;
    const pair = await crypto.subtle.generateKey(ALGORITHMS[alg].generate, true, ['sign', 'verify']);
    key.privateKey = pair.privateKey;
    const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
    const cose =
      alg === 'ES256'
        ? [[1, 2], [3, -7], [-1, 1], [-2, fromB64(jwk.x)], [-3, fromB64(jwk.y)]]
        : alg === 'EdDSA'
          ? [[1, 1], [3, -8], [-1, 6], [-2, fromB64(jwk.x)]]
          : [[1, 3], [3, -257], [-1, fromB64(jwk.n)], [-2, fromB64(jwk.e)]];
    key.cose = cbor(new Map(cose));
    return key;
  }

  get credentialId() {
    return b64url(this.id);
  }

  async authData(rpId, flags, attested = new Uint8Array(0)) {
    this.counter += 1;
    const counter = Uint8Array.of(this.counter >>> 24, (this.counter >> 16) & 0xff, (this.counter >> 8) & 0xff, this.counter & 0xff);
    return concat(await sha256(utf8(rpId)), Uint8Array.of(flags), counter, attested);
  }

  clientData(type, challenge, origin) {
    return utf8(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** The response to `navigator.credentials.create({ publicKey: options })`. */
  async register(options, origin) {
    const clientDataJSON = this.clientData('webauthn.create', options.challenge, origin);
    const attested = concat(new Uint8Array(16), Uint8Array.of(this.id.length >> 8, this.id.length & 0xff), this.id, this.cose);
    const authData = await this.authData(options.rp.id, 0x01 | 0x04 | 0x40, attested);
    const attestationObject = cbor(new Map([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ['usb'] },
      clientExtensionResults: {},
    };
  }

  /** The response to `navigator.credentials.get({ publicKey: options })`. */
  async assert(options, origin) {
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, origin);
    const authData = await this.authData(options.rpId, 0x01 | 0x04);
    const signed = concat(authData, await sha256(clientDataJSON));
    let signature = new Uint8Array(await crypto.subtle.sign(ALGORITHMS[this.alg].sign, this.privateKey, signed));
    if (this.alg === 'ES256') signature = p1363ToDer(signature);
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature) },
      authenticatorAttachment: 'cross-platform',
      clientExtensionResults: {},
    };
  }
}

// ---------------------------------------------------------------- 4. the service over the memory stores

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ORIGIN = 'https://example.com';

async function service() {
  let clock = Date.UTC(2025, 0, 1) + 5_000; // five seconds into a TOTP step
  const events = [];
  const mfa = new MfaService({
    issuer: 'Example App',
    secretKey: '11'.repeat(32),
    users: new MemoryUserStore(),
    recoveryCodes: new MemoryRecoveryCodeStore(),
    now: () => clock,
    onEvent: (event) => {
      events.push(event);
    },
    webauthn: webauthn({ rpId: 'example.com', rpName: 'Example App', origins: [ORIGIN] }),
  });
  const totpAt = (secret) => generateTotp(secret, { now: clock });
  /** Move to the next TOTP step and return its code. */
  const nextCode = (secret) => {
    clock += 30_000;
    return totpAt(secret);
  };
  const wrongCode = (secret) => {
    const taken = new Set([-2, -1, 0, 1, 2].map((d) => generateTotp(secret, { now: clock + d * 30_000 })));
    let n = Number(totpAt(secret));
    let code;
    do {
      n = (n + 1) % 1_000_000;
      code = String(n).padStart(6, '0');
    } while (taken.has(code));
    return code;
  };
  const challenge = async (userId, options) => ok(`startLogin ${userId}`, await mfa.startLogin(userId, options), { mfaRequired: true }).challenge;

  await rejects('a short secret key', (async () => new MfaService({ issuer: 'x', secretKey: 'abcd', users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() }))(), 'weak_secret_key');

  // --- alice: an authenticator app
  const alice = 'alice';
  equal('status before enrolling', (await mfa.status(alice)).state, 'registered');
  ok('startLogin without MFA', await mfa.startLogin(alice), { mfaRequired: false });
  const begun = ok('beginEnrollment', await mfa.beginEnrollment(alice, { accountName: 'alice@example.com' }), {
    qrDataUrl: (d) => typeof d === 'string' && d.startsWith('data:image/png;base64,'),
    uri: (u) => typeof u === 'string' && u.startsWith('otpauth://totp/Example%20App:alice%40example.com?'),
  });
  const secret = begun.secret;
  equal('the URI carries the secret', parseOtpauthUri(begun.uri).secret, secret);
  await checkPng('enrollment QR', fromB64(begun.qrDataUrl.slice(begun.qrDataUrl.indexOf(',') + 1)), 6);
  equal('status while enrolling', (await mfa.status(alice)).state, 'enrolling');
  refused('confirmEnrollment with a wrong code', await mfa.confirmEnrollment(alice, wrongCode(secret)), 'invalid_code');
  refused('confirmEnrollment with junk', await mfa.confirmEnrollment(alice, 'abc'), 'malformed');
  const confirmCode = totpAt(secret);
  const totpFactor = ok('confirmEnrollment', await mfa.confirmEnrollment(alice, confirmCode)).factorId;
  check('status enabled, codes unrevealed', await mfa.status(alice), (s) => s.state === 'enabled' && s.recoveryCodesUnrevealed === true && s.recoveryCodesRemaining === 10 && s.attention.includes('recovery_codes_unrevealed'));
  const revealed = ok('revealRecoveryCodes', await mfa.revealRecoveryCodes(alice), {
    codes: (c) => Array.isArray(c) && c.length === 10,
    text: (t) => typeof t === 'string',
    filename: (f) => typeof f === 'string' && f.endsWith('.txt'),
  });
  refused('revealRecoveryCodes twice', await mfa.revealRecoveryCodes(alice), 'already_revealed');
  check('the codes file lists every code', revealed.text, (t) => revealed.codes.every((c) => t.includes(c)));

  // log in with the app: the confirming code is spent, the next step works once
  refused('login with the code that confirmed', await mfa.verifyLogin(await challenge(alice), { totp: confirmCode }), 'replayed');
  const code1 = nextCode(secret);
  const c1 = await challenge(alice);
  ok('login with a TOTP code', await mfa.verifyLogin(c1, { totp: code1 }), { userId: alice, method: 'totp', factorId: totpFactor, recoveryCodesRemaining: 10 });
  refused('the same challenge again', await mfa.verifyLogin(c1, { totp: nextCode(secret) }), 'challenge_invalid');
  refused('a forged challenge', await mfa.verifyLogin(`${c1.slice(0, -2)}xx`, { totp: totpAt(secret) }), 'challenge_invalid');
  clock += 10 * MINUTE;
  const stale = await challenge(alice);
  clock += 6 * MINUTE;
  refused('an expired challenge', await mfa.verifyLogin(stale, { totp: nextCode(secret) }), 'challenge_expired');

  // a recovery code works once
  const rc = revealed.codes[0];
  ok('login with a recovery code (lower case, spaces)', await mfa.verifyLogin(await challenge(alice), { recoveryCode: rc.toLowerCase().replace(/-/g, ' ') }), { method: 'recovery_code', recoveryCodesRemaining: 9 });
  refused('the same recovery code again', await mfa.verifyLogin(await challenge(alice), { recoveryCode: rc }), 'invalid_code', { attemptsLeft: 4 });
  ok('a good code resets the failures', await mfa.verifyLogin(await challenge(alice), { totp: nextCode(secret) }), { method: 'totp', recoveryCodesRemaining: 9 });

  // step-up, then regenerate the codes with the grant
  const stepUp = ok('startStepUp', await mfa.startStepUp(alice), { mfaRequired: true });
  refused('a login challenge is no step-up one', await mfa.verifyStepUp(await challenge(alice), { totp: nextCode(secret) }), 'challenge_invalid');
  const grant = ok('verifyStepUp with a TOTP code', await mfa.verifyStepUp(stepUp.challenge, { totp: nextCode(secret) }), { userId: alice, method: 'totp' }).grant;
  ok('regenerateRecoveryCodes with the grant', await mfa.regenerateRecoveryCodes(alice, { stepUp: grant }), { method: 'step_up' });
  refused('an old recovery code after regenerating', await mfa.verifyLogin(await challenge(alice), { recoveryCode: revealed.codes[1] }), 'invalid_code');
  const fresh = ok('reveal the new codes', await mfa.revealRecoveryCodes(alice), { codes: (c) => c.length === 10 && !c.includes(revealed.codes[1]) }).codes;
  ok('a new recovery code', await mfa.verifyLogin(await challenge(alice), { recoveryCode: fresh[0] }), { method: 'recovery_code', recoveryCodesRemaining: 9 });
  clock += 11 * MINUTE;
  refused('the grant after its lifetime', await mfa.regenerateRecoveryCodes(alice, { stepUp: grant }), 'step_up_expired');

  // remember this browser, then log in with the device token alone
  const remembered = ok('verifyLogin remembering the device', await mfa.verifyLogin(await challenge(alice), { totp: nextCode(secret) }, { rememberDevice: { label: 'Scenario browser' } }), {
    device: (d) => typeof d?.token === 'string' && typeof d.id === 'string' && d.expiresAt > clock,
  }).device;
  check('listDevices', await mfa.listDevices(alice), (d) => d.length === 1 && d[0].id === remembered.id && d[0].label === 'Scenario browser' && !JSON.stringify(d).includes(remembered.token));
  clock += HOUR;
  const rotated = ok('startLogin with the device token', await mfa.startLogin(alice, { deviceToken: remembered.token }), {
    mfaRequired: false,
    rememberedDevice: (d) => d?.id === remembered.id && typeof d.token === 'string' && d.token !== remembered.token,
  }).rememberedDevice;
  ok('a junk device token gets a challenge', await mfa.startLogin(alice, { deviceToken: 'junk' }), { mfaRequired: true });
  clock += 2 * MINUTE;
  ok('the rotated-away token, after the grace, gets a challenge', await mfa.startLogin(alice, { deviceToken: remembered.token }), { mfaRequired: true });
  check('... and the copied device is forgotten', await mfa.listDevices(alice), (d) => d.length === 0);
  ok('so the new token no longer skips MFA', await mfa.startLogin(alice, { deviceToken: rotated.token }), { mfaRequired: true });

  // five wrong codes lock; nothing is evaluated while locked; unlock
  clock += 30_000;
  for (let left = 4; left >= 1; left--) {
    refused(`wrong code (${left} left)`, await mfa.verifyLogin(await challenge(alice), { totp: wrongCode(secret) }), 'invalid_code', { attemptsLeft: left });
  }
  const locked = refused('the fifth wrong code locks', await mfa.verifyLogin(await challenge(alice), { totp: wrongCode(secret) }), 'locked', { retryAt: clock + MINUTE });
  check('status locked by failures', await mfa.status(alice), (s) => s.state === 'locked' && s.lockCause === 'failures' && s.lockedUntil === locked.retryAt);
  refused('startLogin while locked', await mfa.startLogin(alice), 'locked', { mfaRequired: true });
  refused('requestEmailRecovery while locked', await mfa.requestEmailRecovery(alice), 'locked');
  ok('unlock', await mfa.unlock(alice, { causes: ['failures', 'failure_limit'] }));
  refused('unlock again', await mfa.unlock(alice), 'not_locked');
  ok('login after unlock', await mfa.verifyLogin(await challenge(alice), { totp: nextCode(secret) }), { method: 'totp' });
  ok('a manual lock', await mfa.lock(alice, { reason: 'suspected takeover' }));
  refused('a password reset does not end a manual lock', await mfa.unlock(alice, { causes: ['failures', 'failure_limit'] }), 'cause_mismatch', { cause: 'manual' });
  refused('startLogin under a manual lock', await mfa.startLogin(alice), 'locked', { retryAt: null });
  ok('support unlocks', await mfa.unlock(alice));

  // lost phone and codes: email recovery after the waiting period
  const recovery = ok('requestEmailRecovery', await mfa.requestEmailRecovery(alice), { token: (t) => typeof t === 'string', notBefore: clock + 24 * HOUR });
  check('status shows the pending recovery', await mfa.status(alice), (s) => s.pendingEmailRecovery?.notBefore === recovery.notBefore);
  refused('completeEmailRecovery too early', await mfa.completeEmailRecovery(alice, recovery.token), 'too_early');
  refused('completeEmailRecovery with a junk token', await mfa.completeEmailRecovery(alice, `${recovery.token.slice(0, -2)}xx`), 'invalid_token');
  clock = recovery.notBefore;
  ok('completeEmailRecovery after the wait', await mfa.completeEmailRecovery(alice, recovery.token));
  check('status after email recovery', await mfa.status(alice), (s) => s.state === 'registered' && s.recoveryCodesRemaining === 0);
  ok('startLogin after email recovery', await mfa.startLogin(alice), { mfaRequired: false });

  // --- bob: three security keys (ES256, EdDSA, RS256)
  const bob = 'bob';
  const keys = [];
  let bobGrant;
  for (const alg of ['ES256', 'EdDSA', 'RS256']) {
    const key = await SoftKey.create(alg);
    const proof = bobGrant === undefined ? {} : { proof: { stepUp: bobGrant } };
    if (keys.length > 0) refused(`adding the ${alg} key without a proof`, await mfa.beginWebAuthnRegistration(bob, { userName: 'bob@example.com' }), 'proof_required');
    const options = ok(`beginWebAuthnRegistration ${alg}`, await mfa.beginWebAuthnRegistration(bob, { userName: 'bob@example.com', label: `${alg} key`, ...proof }), {
      options: (o) => o?.rp?.id === 'example.com' && typeof o.challenge === 'string' && o.excludeCredentials?.length === keys.length,
    }).options;
    ok(`finishWebAuthnRegistration ${alg}`, await mfa.finishWebAuthnRegistration(bob, await key.register(options, ORIGIN)));
    keys.push(key);
    const started = ok(`step up with the ${alg} key`, await mfa.startStepUp(bob), { mfaRequired: true });
    bobGrant = ok(`verifyStepUp with the ${alg} key`, await mfa.verifyStepUp(started.challenge, { webauthn: await key.assert(started.webauthn, ORIGIN) }), { method: 'webauthn' }).grant;
  }
  check('listFactors', await mfa.listFactors(bob), (f) => f.length === 3 && f.every((x) => x.kind === 'webauthn') && f.map((x) => x.label).join() === 'ES256 key,EdDSA key,RS256 key');
  check('status: keys only', await mfa.status(bob), (s) => s.state === 'enabled' && s.methods.includes('webauthn') && !s.methods.includes('totp'));
  for (const key of keys) {
    const started = ok(`startLogin offers the keys (${key.alg})`, await mfa.startLogin(bob), {
      mfaRequired: true,
      webauthn: (w) => w?.rpId === 'example.com' && w.allowCredentials.length === 3 && w.allowCredentials.some((c) => c.id === key.credentialId),
    });
    const assertion = await key.assert(started.webauthn, ORIGIN);
    ok(`login with the ${key.alg} key`, await mfa.verifyLogin(started.challenge, { webauthn: assertion }), { method: 'webauthn', userId: bob });
    const again = ok('a new challenge', await mfa.startLogin(bob), { mfaRequired: true });
    refused(`the ${key.alg} assertion replayed on another challenge`, await mfa.verifyLogin(again.challenge, { webauthn: assertion }), 'invalid_credential');
  }
  const started = ok('startLogin for a forged assertion', await mfa.startLogin(bob), { mfaRequired: true });
  const forged = await keys[0].assert(started.webauthn, ORIGIN);
  const sig = fromB64(forged.response.signature);
  sig[sig.length - 1] ^= 1;
  forged.response.signature = b64url(sig);
  refused('a bad signature', await mfa.verifyLogin(started.challenge, { webauthn: forged }), 'invalid_credential');
  ok('regenerateRecoveryCodes with a key grant', await mfa.regenerateRecoveryCodes(bob, { stepUp: bobGrant }), { method: 'step_up' });
  ok('bob reveals his codes', await mfa.revealRecoveryCodes(bob));

  // events: the expected ones, and never a secret, code, token or grant
  const types = new Set(events.map((e) => e.type));
  for (const type of ['enrollment.started', 'mfa.enabled', 'login.succeeded', 'login.failed', 'recovery_code.used', 'recovery_codes.revealed', 'recovery_codes.regenerated', 'step_up.succeeded', 'device.remembered', 'device.token_reused', 'account.locked', 'account.unlocked', 'email_recovery.requested', 'email_recovery.completed', 'factor.added']) {
    check(`event ${type}`, [...types], (t) => t.includes(type));
  }
  const text = JSON.stringify(events);
  for (const [what, value] of [['secret', secret], ['recovery code', fresh[1]], ['device token', rotated.token], ['grant', grant], ['email token', recovery.token]]) {
    check(`no ${what} in any event`, text.includes(value), (found) => found === false);
  }
  return { events: events.length, keys: keys.map((k) => k.alg) };
}

// ---------------------------------------------------------------- run

/** Which runtime this is, e.g. `node 22.23.5`, `bun 1.4.5`, `deno 2.9.6`, `workerd`. */
export function runtime() {
  if (typeof globalThis.Bun !== 'undefined') return `bun ${globalThis.Bun.version}`;
  if (typeof globalThis.Deno !== 'undefined') return `deno ${globalThis.Deno.version.deno}`;
  if (globalThis.navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  return `node ${globalThis.process?.versions?.node}`;
}

/** Runs every part; resolves to a one-line summary, or rejects at the first unexpected value. */
export async function runScenario() {
  checks = 0;
  const started = performance.now();
  const p = await primitives();
  const q = await qr();
  const s = await service();
  const ms = Math.round(performance.now() - started);
  return `${checks} checks passed in ${ms} ms: RFC 6238 ×${p.rfc6238}, RFC 4226 ×${p.rfc4226}, QR png/dataUrl/svg/terminal (${q.pngWidth} px), service flow with keys ${s.keys.join('/')} (${s.events} events)`;
}
