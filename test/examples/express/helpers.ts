/**
 * Helpers for HTTP-level tests of the example host (and for the browser test
 * and benchmark that reuse them): an app on an ephemeral port with a clock
 * moved by hand (one per test file: `sharedServer`), a fetch client with a
 * cookie jar, and the MFA journey in a few calls (`signupAndEnroll`,
 * `openSetup`, `loginWithCode`, `lockByFailureLimit`, `emailedLink`; step-up:
 * `openWithStepUp`, `disableMfa`, `regenerateCodes`; remembered browsers:
 * `loginRemembering`, `setCookieLine`, `clearsCookie`; `resetPasswordByEmail`;
 * security keys through the software authenticator: `TestKey`, `addKey`,
 * `signupWithKey`, `loginWithKey`).
 */
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  generateTotp,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from 'twofold';
import { afterAll, beforeAll } from 'vitest';
import { createApp, type CreateAppOptions, type ExampleApp } from '../../../examples/express/app.ts';
import { SoftAuthenticator, type AssertKnobs, type RegisterKnobs, type SoftAlgorithm } from '../../webauthn/soft-authenticator.ts';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** 2025-01-01T09:00:05Z: five seconds into a 30 s TOTP step. */
export const T0 = Date.UTC(2025, 0, 1, 9, 0, 5);
export const KEY = `hex:${'42'.repeat(32)}`;
export const SESSION_SECRET = 'test-session-secret-'.repeat(3);
/** Argon2id cheap enough for tests (the default costs 19 MiB and tens of ms per hash). */
export const FAST_ARGON2 = { memoryCost: 512, timeCost: 1, parallelism: 1 };
export const PASSWORD = 'correct horse battery';

/** A clock moved only by the test. */
export class Clock {
  constructor(public ms = T0) {}
  readonly now = (): number => this.ms;
  advance(ms: number): number {
    this.ms += ms;
    return this.ms;
  }
}

export interface TestServer extends ExampleApp {
  baseUrl: string;
  clock: Clock;
  server: Server;
  close(): Promise<void>;
}

/**
 * createApp with test defaults (fake clock, fast Argon2id, a limit high enough
 * not to interfere; accounts, sessions and twofold's state in memory unless
 * `options` says otherwise), listening on port 0 of 127.0.0.1 through
 * `ExampleApp.listen`, as server.ts does: without a `publicUrl`, emailed
 * links point at `http://localhost:<port>`.
 */
export async function startServer(options: Partial<CreateAppOptions> = {}): Promise<TestServer> {
  const clock = new Clock();
  const example = createApp({
    secretKey: KEY,
    sessionSecret: SESSION_SECRET,
    now: clock.now,
    passwordCost: FAST_ARGON2,
    rateLimit: { windowMs: MINUTE, limit: 10_000 },
    ...options,
  });
  const server = await example.listen(0, '127.0.0.1');
  const { port } = server.address() as AddressInfo;
  return {
    ...example,
    baseUrl: `http://127.0.0.1:${port}`,
    clock,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * One server for the tests of the file (or of the describe block) this is
 * called in: started before the first, closed after the last. `server` is
 * filled in by `beforeAll`, so read it only inside hooks and tests;
 * `client()` is a new browser on it.
 */
export function sharedServer(options: Partial<CreateAppOptions> = {}): { server: TestServer; client: () => Client } {
  const server = {} as TestServer;
  beforeAll(async () => {
    Object.assign(server, await startServer(options));
  });
  afterAll(async () => {
    await server.close();
  });
  return { server, client: () => new Client(server.baseUrl) };
}

let counter = 0;
/** A fresh valid username. */
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}_${process.pid % 1000}`;
}

/** A response, read once. */
export interface Reply {
  status: number;
  headers: Headers;
  /** Location header of a redirect, or null. */
  location: string | null;
  /** Raw Set-Cookie header values of this response. */
  setCookies: string[];
  body: string;
}

/** Decodes the few entities html.ts produces. */
export function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The CSRF token of the first form in `html` (or of the form posting to `action`). */
export function csrfOf(html: string, action?: string): string {
  let scope = html;
  if (action !== undefined) {
    const start = html.indexOf(`action="${action}"`);
    if (start < 0) throw new Error(`no form with action="${action}" on the page`);
    scope = html.slice(start);
  }
  const match = /name="_csrf" value="([^"]+)"/.exec(scope);
  if (!match) throw new Error('no CSRF token on the page');
  return decodeEntities(match[1]!);
}

/** Page text without tags, whitespace collapsed, entities decoded: for checking messages. */
export function textOf(html: string): string {
  // A <time> element sits inside a sentence ("at <time>10:14 UTC</time>."): its tags add no space.
  return decodeEntities(html.replace(/<\/?time\b[^>]*>/g, '').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ')).trim();
}

/** A browser stand-in: a cookie jar (name → value) and fetch without following redirects. */
export class Client {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly baseUrl: string,
    /** Sent with every request, e.g. `{ 'x-forwarded-proto': 'https' }`. */
    readonly headers: Record<string, string> = {},
  ) {}

  /** A client holding a copy of this one's cookies (another tab, or a stolen cookie). */
  clone(): Client {
    const copy = new Client(this.baseUrl, this.headers);
    for (const [name, value] of this.cookies) copy.cookies.set(name, value);
    return copy;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(method: string, path: string, body?: URLSearchParams): Promise<Reply> {
    const headers: Record<string, string> = { ...this.headers };
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader();
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(this.baseUrl + path, { method, headers, body, redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key, val] = a.trim().split('=');
        return (key!.toLowerCase() === 'expires' && Date.parse(val!) <= Date.now()) || (key!.toLowerCase() === 'max-age' && Number(val) <= 0);
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: response.status, headers: response.headers, location: response.headers.get('location'), setCookies, body: await response.text() };
  }

  get(path: string): Promise<Reply> {
    return this.request('GET', path);
  }

  /** POST form fields as they are (add `_csrf` yourself, or use {@link submit}). */
  post(path: string, fields: Record<string, string>): Promise<Reply> {
    return this.request('POST', path, new URLSearchParams(fields));
  }

  /** Like a person: open `page`, take the CSRF token of the form posting to `action`, and submit `fields`. */
  async submit(page: string, action: string, fields: Record<string, string> = {}): Promise<Reply> {
    const reply = await this.get(page);
    if (reply.status !== 200) throw new Error(`GET ${page} answered ${reply.status} ${reply.location ?? ''}`);
    return this.post(action, { _csrf: csrfOf(reply.body, action), ...fields });
  }

  /** A valid CSRF token of this session (taken from a page with a form). */
  async csrf(page = '/login'): Promise<string> {
    return csrfOf((await this.get(page)).body);
  }
}

export interface TestUser {
  username: string;
  password: string;
}

/** Sign up (and so sign in) a new user. */
export async function signup(client: Client, user: Partial<TestUser> = {}): Promise<TestUser> {
  const created = { username: user.username ?? uniqueName(), password: user.password ?? PASSWORD };
  const reply = await client.submit('/signup', '/signup', created);
  if (reply.status !== 303 || reply.location !== '/account') throw new Error(`signup failed: ${reply.status} ${textOf(reply.body)}`);
  return created;
}

/** The password step; returns the reply (303 to /account without MFA, to /login/mfa with it). */
export function submitPassword(client: Client, user: TestUser): Promise<Reply> {
  return client.submit('/login', '/login', { username: user.username, password: user.password });
}

/** What the setup page shows: the QR data URL and the key for manual entry (spaces removed). */
export function setupOf(html: string): { qrDataUrl: string; secret: string } {
  const qr = /<img id="qr" src="([^"]+)"/.exec(html);
  const secret = /<code id="secret">([^<]+)<\/code>/.exec(html);
  if (!qr || !secret) throw new Error('no QR code or key on the page');
  return { qrDataUrl: decodeEntities(qr[1]!), secret: decodeEntities(secret[1]!).replace(/\s+/g, '') };
}

/** What the recovery-codes page shows: the listed codes, and the download link's file name and text. */
export function recoveryCodesOf(html: string): { codes: string[]; filename: string; downloadText: string } {
  const list = /<ol id="recovery-codes"[^>]*>([\s\S]*?)<\/ol>/.exec(html);
  const link = /<a id="download-codes"[^>]*download="([^"]+)" href="([^"]+)"/.exec(html);
  if (!list || !link) throw new Error('no recovery codes on the page');
  const codes = [...list[1]!.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => decodeEntities(m[1]!));
  const href = decodeEntities(link[2]!);
  const prefix = 'data:text/plain;charset=utf-8,';
  if (!href.startsWith(prefix)) throw new Error('download link is not a text data URL');
  return { codes, filename: decodeEntities(link[1]!), downloadText: decodeURIComponent(href.slice(prefix.length)) };
}

/** The TOTP code of `secret` now, by the server's clock. */
export function codeNow(server: TestServer, secret: string): string {
  return generateTotp(secret, { now: server.clock.ms });
}

/** Move the clock to the next 30 s step and return its code: a code twofold has not seen yet (no replay). */
export function nextCode(server: TestServer, secret: string): string {
  server.clock.advance(30 * SECOND);
  return codeNow(server, secret);
}

/** A well-formed code that is wrong now (and in the ±1 step window). */
export function wrongCode(server: TestServer, secret: string): string {
  const near = [-1, 0, 1].map((step) => generateTotp(secret, { now: server.clock.ms + step * 30 * SECOND }));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!near.includes(candidate)) return candidate;
  }
}

export interface EnrolledUser extends TestUser {
  /** Base32 TOTP secret, as shown for manual entry. */
  secret: string;
  codes: string[];
}

/** Whether `html` is the "enter your password again" page whose form posts to `action`. */
export function asksPassword(html: string, action: string): boolean {
  return html.includes(`action="${action}"`) && /<input id="password" name="password" type="password" autocomplete="current-password"/.test(html);
}

/**
 * Open /mfa/setup as a signed-in person: it asks for the password first
 * (unless confirmed in the last minutes); type it, and return the page with
 * the QR code.
 */
export async function openSetup(client: Client, user: TestUser): Promise<Reply> {
  const first = await client.get('/mfa/setup');
  if (!asksPassword(first.body, '/mfa/setup/password')) return first;
  const confirm = await client.post('/mfa/setup/password', { _csrf: csrfOf(first.body, '/mfa/setup/password'), password: user.password });
  if (confirm.location !== '/mfa/setup') throw new Error(`password confirmation failed: ${confirm.status} ${textOf(confirm.body)}`);
  return client.get('/mfa/setup');
}

/**
 * The whole enrollment as a person does it: sign up, open /mfa/setup, type
 * the password again, read the key, confirm with a code, see the recovery
 * codes once. The client ends signed in.
 */
export async function signupAndEnroll(server: TestServer, client: Client, user: Partial<TestUser> = {}): Promise<EnrolledUser> {
  const created = await signup(client, user);
  const setup = await openSetup(client, created);
  const { secret } = setupOf(setup.body);
  const confirm = await client.post('/mfa/setup', { _csrf: csrfOf(setup.body, '/mfa/setup'), code: codeNow(server, secret) });
  if (confirm.status !== 303 || confirm.location !== '/mfa/recovery-codes') throw new Error(`enrollment failed: ${confirm.status} ${textOf(confirm.body)}`);
  const { codes } = recoveryCodesOf((await client.get('/mfa/recovery-codes')).body);
  return { ...created, secret, codes };
}

/** Password step then a fresh TOTP code: returns the reply of POST /login/mfa (303 to /account on success). */
export async function loginWithCode(server: TestServer, client: Client, user: EnrolledUser): Promise<Reply> {
  const password = await submitPassword(client, user);
  if (password.location !== '/login/mfa') throw new Error(`password step failed: ${password.status} ${textOf(password.body)}`);
  return client.submit('/login/mfa', '/login/mfa', { code: nextCode(server, user.secret) });
}

// --- remembered browsers ---------------------------------------------------

/** The device cookie's name outside production (`__Host-twofold.device` in production). */
export const DEVICE_COOKIE = 'twofold.device';

/**
 * Password step then a fresh TOTP code with "Remember this browser" ticked:
 * returns the reply of POST /login/mfa (303 to /account, with the device
 * cookie, on success).
 */
export async function loginRemembering(server: TestServer, client: Client, user: EnrolledUser): Promise<Reply> {
  const password = await submitPassword(client, user);
  if (password.location !== '/login/mfa') throw new Error(`password step failed: ${password.status} ${password.location ?? ''} ${textOf(password.body)}`);
  return client.submit('/login/mfa', '/login/mfa', { code: nextCode(server, user.secret), remember: '1' });
}

/** The raw Set-Cookie line of `name` in `reply`, or undefined. */
export function setCookieLine(reply: Reply, name: string): string | undefined {
  return reply.setCookies.find((line) => line.startsWith(`${name}=`));
}

/** Whether `reply` removes the cookie `name` (an empty value expiring in the past). */
export function clearsCookie(reply: Reply, name: string): boolean {
  const line = setCookieLine(reply, name);
  if (line === undefined) return false;
  const expires = /;\s*Expires=([^;]+)/i.exec(line)?.[1];
  return line.startsWith(`${name}=;`) && expires !== undefined && Date.parse(expires) <= Date.now();
}

/** "Forgot your password?" by emailed link, as a person: returns the reply of the reset form's POST (303 to /login). */
export async function resetPasswordByEmail(server: TestServer, user: TestUser, newPassword: string, c = new Client(server.baseUrl)): Promise<Reply> {
  await c.submit('/forgot-password', '/forgot-password', { login: user.username });
  const link = emailedLink(lastEmail(server, user, 'Reset your password').text, '/reset-password');
  const form = await c.get(link.pathname + link.search);
  const fields = Object.fromEntries([...form.body.matchAll(/<input [^>]*name="(user|token)"[^>]*value="([^"]*)"/g)].map((m) => [m[1]!, decodeEntities(m[2]!)]));
  return c.post('/reset-password', { ...fields, _csrf: csrfOf(form.body, '/reset-password'), password: newPassword });
}

/** What the server keeps in the session of `client` (null when it has none). */
export async function sessionOf(server: TestServer, client: Client): Promise<Record<string, unknown> | null> {
  const cookie = client.cookies.get('twofold.sid') ?? client.cookies.get('__Host-twofold.sid');
  if (cookie === undefined) return null;
  const sid = /^s:([^.]+)\./.exec(decodeURIComponent(cookie))?.[1];
  if (sid === undefined) return null;
  return new Promise((resolve, reject) =>
    server.sessions.get(sid, (error, data) => (error ? reject(error) : resolve((data as unknown as Record<string, unknown>) ?? null))),
  );
}

/** The message shown on the page a redirect leads to (follows one redirect). */
export async function followText(client: Client, reply: Reply): Promise<string> {
  if (reply.location === null) throw new Error(`not a redirect: ${reply.status}`);
  return textOf((await client.get(reply.location)).body);
}

/** The last email to `user` with this subject (throws when there is none). */
export function lastEmail(server: TestServer, user: { username: string }, subject: string): { text: string } {
  const email = server.outbox.to(`${user.username}@example.test`).findLast((e) => e.subject === subject);
  if (email === undefined) throw new Error(`no email "${subject}" to ${user.username}`);
  return email;
}

/** The first http(s) link in `text` (an email body) that leads to `path`, parsed. */
export function emailedLink(text: string, path: string): URL {
  for (const match of text.matchAll(/https?:\/\/\S+/g)) {
    const url = new URL(match[0]);
    if (url.pathname === path) return url;
  }
  throw new Error(`no link to ${path} in: ${text}`);
}

/**
 * What someone holding only the password can do: fail codes at the login
 * until twofold's limit of 100 failures without a success locks the account
 * for good (about 14 hours of temporary locks, passed on the fake clock).
 * Returns the reply to the last code.
 */
export async function lockByFailureLimit(server: TestServer, user: EnrolledUser): Promise<Reply> {
  let last: Reply | undefined;
  for (let failures = 0; failures < 100; ) {
    const c = new Client(server.baseUrl);
    const password = await submitPassword(c, user);
    if (password.status === 429) {
      // A temporary lock: wait it out (at most an hour by default).
      server.clock.advance(HOUR);
      continue;
    }
    if (password.location !== '/login/mfa') throw new Error(`password step failed: ${password.status} ${textOf(password.body)}`);
    const csrf = await c.csrf('/login/mfa');
    do {
      last = await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
      failures += 1;
    } while (last.status === 401 && failures < 100);
  }
  return last!;
}

/**
 * POST a form as `client` with a Host header of our choosing (fetch will not
 * send one; node:http will): what a thief does to poison emailed links.
 * Resolves to the status code.
 */
export function postWithHost(client: Client, path: string, fields: Record<string, string>, host: string): Promise<number> {
  const body = new URLSearchParams(fields).toString();
  return new Promise<number>((resolve, reject) => {
    const req = request(`${client.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        host,
        'x-forwarded-host': host,
        cookie: client.cookieHeader(),
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body),
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// --- step-up ---------------------------------------------------------------

/** What answers a second-factor page: a typed code (TOTP or recovery), or a security key (with knobs to corrupt its answer). */
export type Answer = { code: string } | { key: TestKey; knobs?: Partial<AssertKnobs> };

/** Whether `reply` sends to the step-up page. */
export function toStepUp(reply: Reply): boolean {
  return reply.status === 303 && (reply.location ?? '').startsWith('/mfa/step-up?');
}

/**
 * Answer a second-factor page (`page`: the login's /login/mfa or a step-up
 * page) with a code through its code form (posting to `codeAction`), or
 * with a key through its key form (posting to `keyAction`).
 */
export function answerPage(server: TestServer, client: Client, page: Reply, answer: Answer, codeAction: string, keyAction: string): Promise<Reply> {
  if ('code' in answer) return client.post(codeAction, { _csrf: csrfOf(page.body, codeAction), code: answer.code });
  const options = keyOptionsOf<PublicKeyCredentialRequestOptionsJSON>(page.body, keyAction);
  const response = answer.key.assert(options, keyOrigin(server), answer.knobs);
  return client.post(keyAction, { _csrf: csrfOf(page.body, keyAction), response: JSON.stringify(response) });
}

/** Answer the step-up page `page` (the reply of GET /mfa/step-up?return=…). */
export function answerStepUp(server: TestServer, client: Client, page: Reply, answer: Answer): Promise<Reply> {
  return answerPage(server, client, page, answer, '/mfa/step-up', '/mfa/step-up/webauthn');
}

/**
 * GET `path` as a person: when it sends to the step-up page, open that,
 * answer it (`answer` is called only then, so a TOTP code is made only when
 * needed), follow the redirect back, and return that page.
 */
export async function openWithStepUp(server: TestServer, client: Client, path: string, answer: () => Answer): Promise<Reply> {
  const first = await client.get(path);
  if (!toStepUp(first)) return first;
  const page = await client.get(first.location!);
  if (page.status !== 200) throw new Error(`step-up page answered ${page.status} ${page.location ?? ''} ${textOf(page.body)}`);
  const done = await answerStepUp(server, client, page, answer());
  if (done.status !== 303 || done.location === null || done.location.startsWith('/mfa/step-up')) {
    throw new Error(`step-up failed: ${done.status} ${done.location ?? ''} ${textOf(done.body)}`);
  }
  return client.get(done.location);
}

/** A fresh TOTP code of `user`, as the `answer` of {@link openWithStepUp}. */
export function withCode(server: TestServer, user: { secret: string }): () => Answer {
  return () => ({ code: nextCode(server, user.secret) });
}

/**
 * A sensitive change as a person: open its confirmation page `path` (after a
 * step-up answered by `answer` when there is no live grant), press its
 * button. When twofold then says the grant is dead (a lock or a factor
 * change since), the app sends to the step-up page again: step up once more
 * and press again. Returns the reply of the last POST.
 */
export async function confirmChange(server: TestServer, client: Client, path: string, answer: () => Answer): Promise<Reply> {
  for (let attempt = 0; ; attempt++) {
    const page = await openWithStepUp(server, client, path, answer);
    if (page.status !== 200) throw new Error(`GET ${path} answered ${page.status} ${page.location ?? ''}`);
    const reply = await client.post(path, { _csrf: csrfOf(page.body, path) });
    if (!toStepUp(reply) || attempt > 0) return reply;
  }
}

/** Turn MFA off as a person (step-up, confirm). Returns the POST's reply (303 to /account). */
export function disableMfa(server: TestServer, client: Client, answer: () => Answer): Promise<Reply> {
  return confirmChange(server, client, '/mfa/disable', answer);
}

/** New recovery codes as a person (step-up, confirm). Returns the POST's reply (303 to /mfa/recovery-codes). */
export function regenerateCodes(server: TestServer, client: Client, answer: () => Answer): Promise<Reply> {
  return confirmChange(server, client, '/mfa/recovery-codes/regenerate', answer);
}

// --- security keys ---------------------------------------------------------

/** The origin the browser would report: the app's public origin (http://localhost:<port> in these tests). */
export function keyOrigin(server: TestServer): string {
  return server.origin.origin;
}

/**
 * A security key for HTTP tests: test/webauthn's software authenticator,
 * which makes real registration and assertion JSON, plus the signature
 * counter a real key keeps (0 at registration, one more per assertion:
 * twofold refuses a counter that does not increase).
 */
export class TestKey {
  readonly authenticator: SoftAuthenticator;
  counter = 0;
  constructor(alg: SoftAlgorithm = 'ES256') {
    this.authenticator = new SoftAuthenticator(alg);
  }

  /** base64url credential id. */
  get id(): string {
    return this.authenticator.id;
  }

  register(options: PublicKeyCredentialCreationOptionsJSON, origin: string, knobs: Partial<RegisterKnobs> = {}): RegistrationResponseJSON {
    return this.authenticator.register({ challenge: options.challenge, origin, rpId: options.rp.id ?? 'localhost', counter: this.counter, ...knobs });
  }

  assert(options: PublicKeyCredentialRequestOptionsJSON, origin: string, knobs: Partial<AssertKnobs> = {}): AuthenticationResponseJSON {
    this.counter += 1;
    return this.authenticator.assert({ challenge: options.challenge, origin, rpId: options.rpId ?? 'localhost', counter: this.counter, ...knobs });
  }
}

/** The options JSON a key form carries in `data-options` (the form posting to `action`). */
export function keyOptionsOf<T>(html: string, action: string): T {
  const tag = new RegExp(`<form[^>]*action="${action.replace(/[/.]/g, '\\$&')}"[^>]*>`).exec(html)?.[0];
  if (tag === undefined) throw new Error(`no form with action="${action}" on the page`);
  const options = /data-options="([^"]*)"/.exec(tag);
  if (!options) throw new Error(`the form posting to ${action} carries no data-options`);
  return JSON.parse(decodeEntities(options[1]!)) as T;
}

export interface AddKeyOptions {
  /** Typed into the name field. Default ''. */
  name?: string;
  /** Answers the step-up when the user already holds a factor. */
  answer?: () => Answer;
  /** Corrupt the registration answer. */
  knobs?: Partial<RegisterKnobs>;
  /** Origin the authenticator reports. Default the app's. */
  origin?: string;
}

/**
 * Add `key` as a person: open /mfa/keys/new (the password again for a first
 * factor, a step-up answered by `options.answer` otherwise), let the key
 * answer the page's creation options, and post the form. Returns the POST's
 * reply (303 to /mfa/recovery-codes for a first factor, to /account after).
 */
export async function addKey(server: TestServer, client: Client, user: TestUser, key: TestKey, options: AddKeyOptions = {}): Promise<Reply> {
  const name = options.name ?? '';
  const path = name === '' ? '/mfa/keys/new' : `/mfa/keys/new?name=${encodeURIComponent(name)}`;
  let page = await client.get(path);
  if (asksPassword(page.body, '/mfa/keys/password')) {
    const confirm = await client.post('/mfa/keys/password', { _csrf: csrfOf(page.body, '/mfa/keys/password'), name, password: user.password });
    if (confirm.status !== 303) throw new Error(`password confirmation failed: ${confirm.status} ${textOf(confirm.body)}`);
    page = await client.get(confirm.location!);
  } else if (toStepUp(page)) {
    if (options.answer === undefined) throw new Error('adding a key asks for a step-up: pass `answer`');
    page = await openWithStepUp(server, client, path, options.answer);
  }
  if (page.status !== 200) throw new Error(`GET ${path} answered ${page.status} ${page.location ?? ''} ${textOf(page.body)}`);
  const creation = keyOptionsOf<PublicKeyCredentialCreationOptionsJSON>(page.body, '/mfa/keys');
  const response = key.register(creation, options.origin ?? keyOrigin(server), options.knobs);
  return client.post('/mfa/keys', { _csrf: csrfOf(page.body, '/mfa/keys'), name, response: JSON.stringify(response) });
}

export interface KeyUser extends TestUser {
  key: TestKey;
  codes: string[];
}

/** Sign up and turn MFA on with a security key alone (named `name`); the recovery codes are read once. The client ends signed in. */
export async function signupWithKey(server: TestServer, client: Client, name = 'My key'): Promise<KeyUser> {
  const user = await signup(client);
  const key = new TestKey();
  const added = await addKey(server, client, user, key, { name });
  if (added.status !== 303 || added.location !== '/mfa/recovery-codes') throw new Error(`adding the first key failed: ${added.status} ${added.location ?? ''} ${textOf(added.body)}`);
  const { codes } = recoveryCodesOf((await client.get('/mfa/recovery-codes')).body);
  return { ...user, key, codes };
}

/** Password step, then `answer` on the second-factor page: returns the reply of the answer (303 to /account on success). */
export async function loginWith(server: TestServer, client: Client, user: TestUser, answer: Answer): Promise<Reply> {
  const password = await submitPassword(client, user);
  if (password.location !== '/login/mfa') throw new Error(`password step failed: ${password.status} ${textOf(password.body)}`);
  const page = await client.get('/login/mfa');
  return answerPage(server, client, page, answer, '/login/mfa', '/login/webauthn');
}

/** Password step, then the security key: returns the reply of POST /login/webauthn. */
export function loginWithKey(server: TestServer, client: Client, user: TestUser, key: TestKey, knobs?: Partial<AssertKnobs>): Promise<Reply> {
  return loginWith(server, client, user, knobs === undefined ? { key } : { key, knobs });
}

/** The signed-in user's factors as twofold lists them. */
export async function factorsOf(server: TestServer, user: { username: string }) {
  return server.mfa.listFactors((await server.accounts.byUsername(user.username))!.id);
}
