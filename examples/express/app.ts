/**
 * The example host: an Express app that keeps its own users, passwords and
 * sessions and uses twofold for the second factor. `createApp` builds it
 * without listening, so tests can inject a clock, a cheap password-hashing
 * cost, a rate limit, production mode and where accounts, sessions and
 * twofold's state live (stores.ts opens them for server.ts: one database for
 * all three); `ExampleApp.listen` starts it.
 *
 * Host-side security, and where it lives:
 * - CSRF tokens on every POST ............................ csrf.ts
 * - session cookie httpOnly, SameSite=Lax, Secure in prod  sessions.ts
 * - session id rotated at the password step and after MFA  routes/login.ts, sessions.ts (signIn)
 * - sessions end after 8 h idle and 7 days after sign-in . sessions.ts
 * - other sessions ended when MFA is turned on or off, or
 *   the password is changed or reset ..................... onEvent below, sessions.ts, routes/password-change.ts,
 *                                                          routes/password-reset.ts
 * - "remember this browser": twofold's rotating token in
 *   its own cookie (httpOnly, SameSite=Lax, __Host- and
 *   Secure in prod), read only after the right password;
 *   a challenge clears it; forgotten on a password change
 *   or reset; a reused copy emails the owner ............. device-cookie.ts, routes/login.ts, routes/account.ts,
 *                                                          emails.ts
 * - the User-Agent only names a remembered browser ....... browser-label.ts
 * - a password change needs the current password, counted
 *   and rate-limited like a login ........................ routes/password-change.ts
 * - the password again before the first factor (app or
 *   key) and before cancelling an email recovery (a
 *   stolen cookie is not enough); wrong ones counted ...... reauth.ts
 * - a fresh second factor (step-up, "sudo mode") before
 *   turning MFA off, new recovery codes, removing a
 *   factor or adding one; the grant kept server-side,
 *   the session id rotated, return paths allow-listed .... step-up.ts, routes/step-up.ts
 * - security keys bound to the public URL (rpId = its
 *   host, origins = [it]), never to the Host header ....... relying-party.ts
 * - security headers and CSP (helmet): scripts only from
 *   this origin, no inline script or handler .............. below, public/webauthn.js
 * - rate limit on the password and code forms ............ below
 * - passwords: Argon2id (OWASP: 19 MiB, t=2, p=1), random
 *   salt, same work and words for unknown users (a decoy
 *   hash); old scrypt hashes upgraded at sign-in ......... passwords.ts, accounts.ts, routes/login.ts
 * - password reset by emailed single-use link, hashed
 *   token; ends failure locks, never support's ........... routes/password-reset.ts, accounts.ts
 * - 100 failed codes prove the password is known: the
 *   owner is told to reset it ............................ emails.ts
 * - emailed links from the configured origin, never from
 *   the Host header ...................................... links.ts
 * - no request logging; secrets never in URLs except the
 *   emailed recovery and reset links ..................... routes/recover.ts, routes/password-reset.ts
 * - every interpolated value HTML-escaped ................ html.ts
 */
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import session from 'express-session';
import helmet from 'helmet';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryRecoveryCodeStore, MemoryUserStore, MfaService, type MfaEvent, type RecoveryCodeStore, type UserStore } from 'twofold';
import { MemoryAccountStore, type AccountStore } from './account-store.ts';
import { Accounts } from './accounts.ts';
import type { AppContext } from './context.ts';
import { csrfProtection } from './csrf.ts';
import { REMEMBER_DEVICE_MS } from './device-cookie.ts';
import { emailForEvent } from './emails.ts';
import { PublicOrigin } from './links.ts';
import { Outbox } from './outbox.ts';
import { sendPage } from './page.ts';
import type { Argon2Cost } from './passwords.ts';
import { relyingParty } from './relying-party.ts';
import { accountRoutes } from './routes/account.ts';
import { devRoutes } from './routes/dev.ts';
import { enrollmentRoutes } from './routes/enrollment.ts';
import { keyRoutes } from './routes/keys.ts';
import { loginRoutes } from './routes/login.ts';
import { passwordChangeRoutes, PASSWORD_CHANGE_PATH } from './routes/password-change.ts';
import { passwordResetRoutes } from './routes/password-reset.ts';
import { recoverRoutes } from './routes/recover.ts';
import { signupRoutes } from './routes/signup.ts';
import { stepUpRoutes } from './routes/step-up.ts';
import { enforceSessionGeneration, enforceSessionLifetime, sessionMiddleware } from './sessions.ts';
import { SIMPLEWEBAUTHN_BROWSER_PATH } from './views/layout.ts';
import { homePage, messagePage } from './views/pages.ts';

export interface CreateAppOptions {
  /** twofold's root key, >= 32 bytes (bytes, hex or base64). */
  secretKey: Uint8Array | string;
  /** Signs the session cookie. */
  sessionSecret: string;
  /** Secure cookies, `trust proxy`, HSTS, no dev outbox. Default false. */
  production?: boolean;
  /**
   * Origin of emailed links, e.g. `https://app.example.com` (required in
   * production). Default: `http://localhost:<port>` once {@link ExampleApp.listen}
   * knows the port. Never taken from the request (links.ts).
   */
  publicUrl?: string;
  /** Clock in ms since epoch, shared by twofold, sessions, pages and emails. Default `Date.now`. */
  now?: () => number;
  /** Waiting period of email recovery. Default 24 h. */
  emailRecoveryDelayMs?: number;
  /** Argon2id cost of new password hashes; tests use a cheap one. Default OWASP's (passwords.ts). */
  passwordCost?: Argon2Cost;
  /**
   * POSTs per IP per window: to the password and code forms (/login*, the
   * password re-checks and the password change), to /signup, and to the
   * password-reset forms, each group counted apart. Default 20 per minute.
   */
  rateLimit?: { windowMs: number; limit: number };
  /** Name shown in authenticator apps. Default 'twofold example'. */
  issuer?: string;
  /** Where twofold keeps its state. Default: the in-memory stores (stores.ts opens SQLite, PostgreSQL, MySQL or Redis ones). */
  stores?: { users: UserStore; recoveryCodes: RecoveryCodeStore };
  /** Where the example's own accounts live. Default: in memory (stores.ts opens one in the database). */
  accounts?: AccountStore;
  /** Where sessions live. Default: express-session's MemoryStore (stores.ts opens one in the database, or Redis). */
  sessionStore?: session.Store;
}

export interface ExampleApp {
  app: Express;
  mfa: MfaService;
  outbox: Outbox;
  accounts: Accounts;
  /** Where sessions live (tests look inside to check what a session holds). */
  sessions: session.Store;
  /** Where emailed links point. */
  origin: PublicOrigin;
  /**
   * Listen on `port` (0: a free one) and, without a configured `publicUrl`,
   * point emailed links at `http://localhost:<the port listened on>`.
   */
  listen(port: number, host?: string): Promise<Server>;
}

const HOUR = 3_600_000;
/** After the waiting period the emailed link stays usable this long. */
const EMAIL_RECOVERY_WINDOW_MS = 48 * HOUR;

/**
 * @simplewebauthn/browser's UMD bundle (global `SimpleWebAuthnBrowser`), served
 * as a same-origin file: no CDN, so the CSP stays script-src 'self'.
 */
const SIMPLEWEBAUTHN_BROWSER_FILE = join(
  dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')),
  '..',
  'dist',
  'bundle',
  'index.umd.min.js',
);

/**
 * Events after which every existing session of the user ends. A reused
 * device token (a copied cookie) is one: some session may have been signed
 * in with the copy, and which one cannot be told.
 */
const ENDS_SESSIONS: ReadonlySet<MfaEvent['type']> = new Set(['mfa.enabled', 'mfa.disabled', 'email_recovery.completed', 'device.token_reused']);

export function createApp(options: CreateAppOptions): ExampleApp {
  const production = options.production ?? false;
  if (production && options.publicUrl === undefined) throw new Error('createApp: publicUrl is required in production');
  const now = options.now ?? Date.now;
  const emailRecoveryDelayMs = options.emailRecoveryDelayMs ?? 24 * HOUR;
  const accounts = new Accounts(options.accounts ?? new MemoryAccountStore(), options.passwordCost ? { passwordCost: options.passwordCost } : {});
  const outbox = new Outbox(now);
  const origin = new PublicOrigin(options.publicUrl);
  const issuer = options.issuer ?? 'twofold example';
  // Security keys and passkeys: rpId = hostname of the public URL, origins = [that origin]
  // (null when the public URL is plain http on another host than localhost: no keys).
  const webauthn = relyingParty(origin, issuer);

  const mfa = new MfaService({
    issuer,
    secretKey: options.secretKey,
    users: options.stores?.users ?? new MemoryUserStore(),
    recoveryCodes: options.stores?.recoveryCodes ?? new MemoryRecoveryCodeStore(),
    now,
    recovery: { emailDelayMs: emailRecoveryDelayMs, emailTtlMs: emailRecoveryDelayMs + EMAIL_RECOVERY_WINDOW_MS },
    // "Remember this browser for 30 days" (the checkbox says the same number: device-cookie.ts).
    rememberDevice: { ttlMs: REMEMBER_DEVICE_MS },
    ...(webauthn !== null ? { webauthn } : {}),
    // twofold awaits this before the call that emitted the event resolves. Should the
    // database fail here, twofold reports it (a TwofoldEventWarning) and its change
    // stands; the other sessions then end only when they expire.
    onEvent: async (event) => {
      const account = await accounts.byId(event.userId);
      if (account === undefined) return;
      // A change of the second factor ends every session created before it
      // (the route that made the change re-stamps its own session).
      if (ENDS_SESSIONS.has(event.type)) await accounts.endSessions(account.id);
      // On again after an email recovery removed it: the account page stops asking to set it up again.
      if (event.type === 'mfa.enabled') await accounts.clearSetUpAgain(account.id);
      const email = emailForEvent(event, account, {
        passwordReset: () => origin.link('/forgot-password', { username: account.username }),
      });
      if (email) outbox.send({ to: account.email, ...email });
    },
  });

  const ctx: AppContext = { mfa, accounts, outbox, now, production, origin, emailRecoveryDelayMs, keys: webauthn !== null, issuer };
  const app = express();

  // Behind one TLS-terminating proxy in production: trust its X-Forwarded-Proto
  // (Secure cookies) and X-Forwarded-For (rate limit per client). Never in
  // development, where anyone could send those headers.
  if (production) app.set('trust proxy', 1);

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          // Two same-origin script files, on the pages with a security-key button
          // (@simplewebauthn/browser and public/webauthn.js). No inline script and
          // no inline handler: injected markup cannot run anything.
          scriptSrc: ["'self'"],
          scriptSrcAttr: ["'none'"],
          // One static stylesheet, no inline styles.
          styleSrc: ["'self'"],
          // data: for the QR code, which twofold renders as a PNG data URL.
          // (The recovery-codes download is a data: link; CSP does not govern downloads.)
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          // Only in production: on http://localhost it would break the demo.
          ...(production ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      xFrameOptions: { action: 'deny' },
      // HSTS only where there is HTTPS to insist on.
      strictTransportSecurity: production,
      // helmet's default no-referrer: the token in the recovery link never leaves in a Referer.
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );

  // Static files before sessions: a stylesheet needs no session (and creates none).
  app.use(express.static(fileURLToPath(new URL('./public/', import.meta.url)), { index: false }));
  app.get(SIMPLEWEBAUTHN_BROWSER_PATH, (_req, res, next) => {
    res.sendFile(SIMPLEWEBAUTHN_BROWSER_FILE, { headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (error) => error && next(error));
  });

  // In the database with the accounts (server.ts, stores.ts), or in memory for tests.
  const sessions = options.sessionStore ?? new session.MemoryStore();
  app.use(sessionMiddleware({ secret: options.sessionSecret, production, store: sessions }));
  app.use(enforceSessionGeneration(accounts));
  app.use(enforceSessionLifetime(now));
  // Small forms only. Bodies are never logged: they hold passwords and codes.
  app.use(express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 }));
  // Pages show secrets (QR, recovery codes) and personal state: keep them out of every cache.
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  // Password guessing and code guessing go through /login* and the password
  // re-checks of signed-in users (reauth.ts): one limit per IP for all of
  // them, so a thief cannot add one budget to another. (twofold's lockout
  // protects each user's codes; this protects the password.)
  const limit = options.rateLimit ?? { windowMs: 60_000, limit: 20 };
  const limiter = () =>
    rateLimit({
      windowMs: limit.windowMs,
      limit: limit.limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      skip: (req) => req.method !== 'POST',
      handler: (req: Request, res: Response) =>
        sendPage(ctx, req, res, {
          title: 'Too many attempts',
          status: 429,
          body: (page) => messagePage(page, 'Too many attempts from your network. Wait a minute and try again.'),
        }),
    });
  // (/login covers /login/webauthn; /mfa/step-up covers /mfa/step-up/webauthn.)
  app.use(['/login', '/mfa/setup/password', '/mfa/keys/password', '/mfa/step-up', '/mfa/email-recovery/cancel', PASSWORD_CHANGE_PATH], limiter());
  app.use('/signup', limiter());
  // Asking for reset emails (mail bombing, probing) and trying reset links.
  app.use(['/forgot-password', '/reset-password'], limiter());

  app.use(
    csrfProtection((req, res) =>
      sendPage(ctx, req, res, {
        title: 'Form expired',
        status: 403,
        body: (page) => messagePage(page, 'This form was too old or did not come from this site. Go back, reload the page and try again.'),
      }),
    ),
  );

  // `?logged-out=1`: where POST /logout leads (the session, and any flash in it, is gone by then).
  app.get('/', (req, res) => sendPage(ctx, req, res, { title: 'Welcome', body: (page) => homePage(page, { loggedOut: req.query['logged-out'] === '1' }) }));
  app.use(signupRoutes(ctx));
  app.use(loginRoutes(ctx));
  app.use(recoverRoutes(ctx));
  app.use(passwordResetRoutes(ctx));
  app.use(passwordChangeRoutes(ctx));
  app.use(accountRoutes(ctx));
  app.use(stepUpRoutes(ctx));
  app.use(enrollmentRoutes(ctx));
  app.use(keyRoutes(ctx));
  if (!production) app.use(devRoutes(ctx));

  app.use((req, res) => {
    sendPage(ctx, req, res, { title: 'Not found', status: 404, body: (page) => messagePage(page, 'There is no page here.') });
  });

  const onError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    const status = (error as { status?: unknown } | null)?.status;
    const clientError = typeof status === 'number' && status >= 400 && status < 500;
    // The stack only, never the request: its body may hold a password or a code.
    if (!clientError) console.error('twofold example: request failed:', error instanceof Error ? error.stack : String(error));
    if (res.headersSent) return;
    res.status(clientError ? status : 500).type('text/plain').send(clientError ? 'Bad request' : 'Something went wrong');
  };
  app.use(onError);

  const listen = (port: number, host?: string): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer(app);
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        origin.listening(server);
        resolve(server);
      });
    });

  return { app, mfa, outbox, accounts, sessions, origin, listen };
}
