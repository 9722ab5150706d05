/** What every route of the example needs: twofold, the host's accounts and outbox, and settings. */
import type { MfaService } from 'twofold';
import type { Accounts } from './accounts.ts';
import type { PublicOrigin } from './links.ts';
import type { Outbox } from './outbox.ts';

export interface AppContext {
  mfa: MfaService;
  accounts: Accounts;
  outbox: Outbox;
  /** The clock twofold uses too (ms since epoch): pages and emails agree with it. */
  now: () => number;
  production: boolean;
  /** Origin of emailed links: configured, or http://localhost:<listening port>; never from the request (links.ts). */
  origin: PublicOrigin;
  emailRecoveryDelayMs: number;
  /** Whether security keys and passkeys are on: the public URL is https or localhost (relying-party.ts). */
  keys: boolean;
  /** The name authenticator apps show for this site (twofold's `issuer`). */
  issuer: string;
}
