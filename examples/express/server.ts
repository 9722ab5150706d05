/**
 * Starts the example host: `npm start` (PORT, TWOFOLD_SECRET_KEY,
 * EMAIL_RECOVERY_DELAY, SESSION_SECRET, PUBLIC_URL, NODE_ENV, DATABASE_URL,
 * DATABASE_SCHEMA, REDIS_URL; see config.ts). With no settings, accounts,
 * sessions and twofold's state live in `.data/example.db` and the
 * development secrets in `.data/secrets.json`: an account survives a restart.
 */
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { loadDevSecrets } from './secrets.ts';
import { openStores } from './stores.ts';
import { formatDuration } from './time.ts';

function fail(message: string): never {
  console.error(`twofold example: ${message}`);
  process.exit(1);
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(error.message);
}
for (const warning of config.warnings) console.warn(`warning: ${warning}`);

// Development only (config.ts requires both secrets in production): the ones not set come from a file made once.
let { secretKey, sessionSecret } = config;
if (config.secretsFile !== undefined) {
  let secrets: ReturnType<typeof loadDevSecrets>;
  try {
    secrets = loadDevSecrets(config.secretsFile);
  } catch (error) {
    fail(`cannot use the development secrets file: ${reason(error)}`);
  }
  secretKey ??= secrets.secretKey;
  sessionSecret ??= secrets.sessionSecret;
  if (secrets.created) console.warn(`warning: generated ${config.secretsFile} (mode 0600): development secrets, never for production`);
  for (const warning of secrets.warnings) console.warn(`warning: ${warning}`);
}

const { database } = config.stores;
const engine = database.kind === 'sqlite' ? 'SQLite' : database.kind === 'postgres' ? 'PostgreSQL' : 'MySQL';
const stores = await openStores(config.stores).catch((error: unknown) => fail(`cannot open the ${engine} database${config.stores.redis ? ' or Redis' : ''}: ${reason(error)}`));

const example = createApp({
  stores,
  accounts: stores.accounts,
  sessionStore: stores.sessions,
  secretKey: secretKey!,
  sessionSecret: sessionSecret!,
  production: config.production,
  publicUrl: config.publicUrl,
  emailRecoveryDelayMs: config.emailRecoveryDelayMs,
});

// Without PUBLIC_URL (and with PORT=0, where config.ts cannot know the port),
// listen() points emailed links at http://localhost:<the port it got>.
const server = await example.listen(config.port).catch((error: unknown) => fail(`cannot listen on port ${config.port}: ${reason(error)}`));
const { port } = server.address() as AddressInfo;
console.log(`twofold example listening on http://localhost:${port}`);
console.log(`accounts: ${stores.where.accounts}`);
console.log(`sessions: ${stores.where.sessions}`);
console.log(`MFA state: ${stores.where.mfa}`);
console.log(`email recovery waiting period: ${formatDuration(config.emailRecoveryDelayMs)} (EMAIL_RECOVERY_DELAY)`);
console.log(`emailed links point at ${example.origin.origin} (PUBLIC_URL)`);
if (!config.production) console.log(`emails go to the dev outbox: http://localhost:${port}/dev/outbox`);

// Ctrl-C or a stop from the process manager: stop taking requests, then close the
// database cleanly (SQLite folds its write-ahead log back into the file).
let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  // Should a connection hang, leave anyway: every committed write is already on disk.
  setTimeout(() => process.exit(0), 3000).unref();
  server.close();
  server.closeAllConnections();
  stores
    .close()
    .catch((error: unknown) => console.error(`twofold example: closing the stores failed: ${reason(error)}`))
    .finally(() => process.exit(signal === 'SIGINT' ? 130 : 0));
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
