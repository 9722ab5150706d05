/**
 * WebAuthn under races between app servers, on every store: the same
 * assertion submitted many times at once on one challenge, and a cloned key
 * (many challenges, each answered with a valid assertion carrying the same
 * signature counter) must each let exactly one login through, and the stored
 * counter must be the accepted one. Two MfaService instances with the
 * WebAuthn plugin race over two pools (PostgreSQL), two clients (Redis), or
 * one pair of memory stores; the scenarios are in
 * test/support/race-scenarios.ts, the engines in two-server-engines.ts.
 */
import { it } from 'vitest';
import * as races from '../support/race-scenarios.ts';
import { onEveryEngine } from '../support/two-server-engines.ts';

/** Exactly one success however often one assertion or one cloned key is raced; a high limit makes every refusal a counted failure. */
const NO_LOCK = { maxFailures: 100, hardLimit: 100 };

function raceTests(engine: () => races.InProcessEngine, what: string): void {
  it(`${what}: ${races.RACERS} parallel verifyLogin of one assertion on one challenge, exactly one success, the rest challenge_invalid`, async () => {
    await races.oneWebAuthnAssertionOnTwoServices(engine());
  });

  it(`${what}: a cloned key, ${races.RACERS} challenges each answered with the same counter, exactly one success, ${races.RACERS - 1} counted invalid_credential`, async () => {
    await races.clonedKeySameCounterOnTwoServices(engine(), NO_LOCK);
  });

  it(`${what}: a cloned key, ${races.RACERS} challenges with the same counter and the default lockout: one success, 4 invalid_credential, then locked`, async () => {
    await races.clonedKeySameCounterOnTwoServices(engine());
  });
}

onEveryEngine('WebAuthn races', raceTests);
