/**
 * A second Node process for the multi-process race tests: it builds its own
 * MfaService over the shared database (through the stores module it is
 * told to load), waits for "go", fires all its verifyLogin calls at once and
 * reports the results. Run with `fork(path, { execArgv: ['--import', 'tsx'] })`.
 *
 * Messages in: { type: 'setup', storesModule, storesOptions, secretKey, now, work: [{ challenge, proof }] },
 * then { type: 'go' }. Messages out: { type: 'ready' }, { type: 'results', results }.
 */
import { pathToFileURL } from 'node:url';
import { MfaService, type RecoveryCodeStore, type UserStore, type VerifyLoginResult } from 'twofold';
import type { WorkerPlan } from './race.ts';

interface Setup extends WorkerPlan {
  type: 'setup';
}

type StoresModule = {
  makeStores(options: unknown): Promise<{ users: UserStore; recoveryCodes: RecoveryCodeStore; close(): Promise<void> }>;
};

let setup: Setup | null = null;
let stores: Awaited<ReturnType<StoresModule['makeStores']>> | null = null;
let mfa: MfaService | null = null;

process.on('message', async (message: { type: string }) => {
  try {
    if (message.type === 'setup') {
      setup = message as Setup;
      const module = (await import(pathToFileURL(setup.storesModule).href)) as StoresModule;
      stores = await module.makeStores(setup.storesOptions);
      const now = setup.now;
      mfa = new MfaService({
        issuer: 'Race',
        secretKey: setup.secretKey,
        users: stores.users,
        recoveryCodes: stores.recoveryCodes,
        now: () => now,
        ...(setup.lockout ? { lockout: setup.lockout } : {}),
      });
      process.send!({ type: 'ready' });
    } else if (message.type === 'go') {
      const results: Array<VerifyLoginResult | { error: string }> = await Promise.all(
        setup!.work.map(({ challenge, proof }) =>
          mfa!.verifyLogin(challenge, proof).catch((error: unknown) => ({ error: String(error) })),
        ),
      );
      process.send!({ type: 'results', results });
      await stores!.close();
      process.disconnect();
    }
  } catch (error) {
    process.send!({ type: 'error', error: String(error instanceof Error ? error.stack : error) });
    process.exit(1);
  }
});
