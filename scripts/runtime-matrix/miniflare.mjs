/**
 * Runs the bundled worker (wrangler deploy --dry-run output) in workerd
 * through miniflare, with the compatibility date and flags of the bundle's
 * wrangler.jsonc, and prints the scenario's one line. Run with Node >= 22
 * from the directory that has miniflare installed.
 *
 * node miniflare.mjs <bundle/worker.js> <wrangler.jsonc>
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Miniflare } from 'miniflare';

const [scriptPath, configPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const mf = new Miniflare({
  modules: true,
  scriptPath,
  modulesRoot: dirname(scriptPath),
  compatibilityDate: config.compatibility_date,
  compatibilityFlags: config.compatibility_flags,
});
let failed = true;
try {
  const response = await mf.dispatchFetch('https://example.com/');
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { ok: false, error: `HTTP ${response.status}: ${text.slice(0, 2000)}` };
  }
  const where = `${body.runtime ?? 'workerd'} (compatibility_date ${config.compatibility_date}, ${config.compatibility_flags.join(', ')})`;
  if (body.ok === true && response.status === 200) {
    console.log(`${where}: ${body.summary}`);
    failed = false;
  } else {
    console.error(`${where}: FAILED`);
    console.error(body.error);
  }
} finally {
  await mf.dispose();
}
process.exit(failed ? 1 : 0);
