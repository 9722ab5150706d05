/**
 * Runs the scenario on Node, Bun or Deno from the scratch consumer project:
 * one line on success, the failure and a non-zero exit otherwise.
 */
import { runScenario, runtime } from './scenario.mjs';

try {
  console.log(`${runtime()}: ${await runScenario()}`);
} catch (error) {
  console.error(`${runtime()}: FAILED`);
  console.error(error);
  // Deno and Bun have `process` too, but keep the exit runtime-neutral.
  if (globalThis.Deno) globalThis.Deno.exit(1);
  process.exit(1);
}
