/**
 * Remembered devices under races between app servers, on every store: 50
 * startLogin calls with the same live device token at once let exactly one
 * skip the second factor (with a rotated token) and give the other 49 a
 * normal challenge without an alarm; later than the grace the raced token is
 * a copy, and 20 parallel presentations of it raise the alarm exactly once.
 * Two MfaService instances race over two pools (PostgreSQL), two clients
 * (Redis), or one pair of memory stores; the scenarios are in
 * test/support/race-scenarios.ts, the engines in two-server-engines.ts.
 */
import { it } from 'vitest';
import * as races from '../support/race-scenarios.ts';
import { onEveryEngine } from '../support/two-server-engines.ts';

function raceTests(engine: () => races.InProcessEngine, what: string): void {
  it(`${what}: ${races.RACERS} parallel startLogin with one live device token, exactly one skips the second factor with a new token, ${races.RACERS - 1} get a normal challenge, no alarm; the new token works`, async () => {
    await races.oneDeviceTokenOnTwoServices(engine());
  });

  it(`${what}: after the grace the raced token, presented ${races.DEVICE_REUSERS} times at once, raises device.token_reused exactly once and forgets the device`, async () => {
    await races.reusedDeviceTokenOnTwoServices(engine());
  });
}

onEveryEngine('remembered-device races', raceTests);
