/**
 * Starts the example host: `npm start` (PORT, TWOFOLD_SECRET_KEY,
 * EMAIL_RECOVERY_DELAY, SESSION_SECRET, PUBLIC_URL, NODE_ENV, DATABASE_URL,
 * REDIS_URL; see config.ts).
 */
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openStores } from './stores.ts';
import { formatDuration } from './time.ts';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`twofold example: ${error.message}`);
  process.exit(1);
}
for (const warning of config.warnings) console.warn(`warning: ${warning}`);

const stores = await openStores(config.stores).catch((error: unknown) => {
  console.error(`twofold example: cannot open the ${config.stores.kind} stores: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

const example = createApp({
  stores,
  secretKey: config.secretKey,
  sessionSecret: config.sessionSecret,
  production: config.production,
  publicUrl: config.publicUrl,
  emailRecoveryDelayMs: config.emailRecoveryDelayMs,
});

// Without PUBLIC_URL (and with PORT=0, where config.ts cannot know the port),
// listen() points emailed links at http://localhost:<the port it got>.
const server = await example.listen(config.port).catch((error: unknown) => {
  console.error(`twofold example: cannot listen on port ${config.port}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
const { port } = server.address() as AddressInfo;
console.log(`twofold example listening on http://localhost:${port}`);
console.log(`MFA state: ${stores.description}`);
console.log(`email recovery waiting period: ${formatDuration(config.emailRecoveryDelayMs)} (EMAIL_RECOVERY_DELAY)`);
console.log(`emailed links point at ${example.origin.origin} (PUBLIC_URL)`);
if (!config.production) console.log(`emails go to the dev outbox: http://localhost:${port}/dev/outbox`);
