/**
 * The scenario inside a Cloudflare Worker: bundled by `wrangler deploy
 * --dry-run` (nodejs_compat) and run in workerd by miniflare.mjs. It runs in
 * the fetch handler, since workerd forbids random values at module scope.
 */
import { runScenario, runtime } from './scenario.mjs';

export default {
  async fetch() {
    try {
      return Response.json({ ok: true, runtime: runtime(), summary: await runScenario() });
    } catch (error) {
      return Response.json({ ok: false, runtime: runtime(), error: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
