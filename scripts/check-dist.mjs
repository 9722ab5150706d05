// Checks the built package (after `npm run build`) the way a user loads it:
// by name, through the exports map, as ESM and as CJS. Run by .ci/run.
//  - every entry loads in both formats;
//  - `twofold` alone never loads the optional peers pg, ioredis and
//    @simplewebauthn/server, and its files never name @simplewebauthn;
//  - `twofold/webauthn` loads @simplewebauthn/server only on a registration;
//  - an MfaError thrown by one entry is recognised by another.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const entries = ['twofold', 'twofold/testing', 'twofold/webauthn', 'twofold/maintenance', 'twofold/adapters/postgres', 'twofold/adapters/redis', 'twofold/adapters/sqlite', 'twofold/adapters/mysql'];

// The main entry's files never even name the WebAuthn peer: a TOTP-only user installs nothing new.
for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
  assert.ok(!readFileSync(file, 'utf8').includes('simplewebauthn'), `${file} must not reference @simplewebauthn/server`);
}

// CJS: nothing but twofold's own files may be loaded by requiring the main entry.
const main = require('twofold');
const peerPattern = /node_modules[\\/](pg|ioredis|better-sqlite3|mysql2|@simplewebauthn)[\\/]/;
const loadedPeers = Object.keys(require.cache).filter((file) => peerPattern.test(file));
assert.deepEqual(loadedPeers, [], 'require("twofold") must not load pg, ioredis, better-sqlite3, mysql2 or @simplewebauthn/server');
const { webauthn } = require('twofold/webauthn');
const plugin = webauthn({ rpId: 'example.com', rpName: 'Example', origins: ['https://example.com'] });
assert.equal(plugin.plugin, 'twofold/webauthn');
assert.deepEqual(Object.keys(require.cache).filter((file) => /@simplewebauthn/.test(file)), [], 'twofold/webauthn loads its peer only on a registration');
assert.equal(typeof new main.MfaService({ issuer: 'x', secretKey: '11'.repeat(32), users: new main.MemoryUserStore(), recoveryCodes: new main.MemoryRecoveryCodeStore(), webauthn: plugin }), 'object');
assert.equal(typeof main.MfaService, 'function');
for (const entry of entries.slice(3)) assert.equal(typeof require(entry), 'object', `require('${entry}')`);

// ESM: every entry, and the same MfaError check across entries and formats.
const esm = await import('twofold');
for (const entry of entries) assert.equal(typeof (await import(entry)), 'object', `import('${entry}')`);
const { PostgresUserStore } = await import('twofold/adapters/postgres');
const { RedisUserStore } = require('twofold/adapters/redis');
for (const make of [() => new PostgresUserStore({ query: async () => ({ rows: [] }) }, { schema: 'Not a schema!' }), () => new RedisUserStore({}, { keyPrefix: 42 })]) {
  let thrown;
  try {
    make();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown, 'a bad adapter option must throw');
  assert.ok(esm.isMfaError(thrown, 'invalid_option'), 'isMfaError (ESM main) recognises an adapter MfaError');
  assert.ok(main.isMfaError(thrown, 'invalid_option'), 'isMfaError (CJS main) recognises an adapter MfaError');
  assert.ok(thrown instanceof esm.MfaError && thrown instanceof main.MfaError, 'instanceof MfaError across copies');
}

// A quick functional check of the built code in both formats.
for (const lib of [esm, main]) {
  const secret = lib.generateSecret();
  assert.deepEqual(lib.verifyTotp(secret, lib.generateTotp(secret)), { delta: 0 });
  assert.equal(lib.hashRecoveryCode('user', lib.generateRecoveryCodes(1)[0]).length, 64);
}
console.log(`dist ok: ${entries.length} entries as ESM and CJS; no peer loaded by 'twofold'; MfaError shared across entries`);
