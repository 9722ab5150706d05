/**
 * Child process of bench/http.ts: runs the example host on an ephemeral
 * port, enrolls `BENCH_HTTP_USERS` users through the library API, logs each
 * in with the password over HTTP (so each has a pending-MFA session holding
 * a challenge), and hands the parent one ready `POST /login/mfa` per user:
 * cookie, CSRF token and a valid, never-used code.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { generateTotp } from 'twofold';
import { createApp } from '../examples/express/app.ts';

const USERS = Number(process.env.BENCH_HTTP_USERS ?? 4000);
const PASSWORD = 'correct horse battery';
const clock = { now: Date.now() };
const { app, mfa, accounts } = createApp({
  secretKey: randomBytes(32),
  sessionSecret: randomBytes(32).toString('hex'),
  now: () => clock.now,
  // Password hashing is not what is measured here.
  passwordCost: { memoryCost: 512, timeCost: 1, parallelism: 1 },
  rateLimit: { windowMs: 60_000, limit: 1_000_000_000 },
});
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function cookieOf(response: Response, previous: string): string {
  const set = response.headers.getSetCookie().map((c) => c.split(';')[0]!);
  return set.length > 0 ? set.join('; ') : previous;
}

function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF token on the page');
  return match[1]!.replace(/&#x([0-9a-f]+);|&#(\d+);|&amp;|&quot;|&lt;|&gt;/gi, (m, hex, dec) =>
    hex ? String.fromCodePoint(parseInt(hex, 16)) : dec ? String.fromCodePoint(Number(dec)) : ({ '&amp;': '&', '&quot;': '"', '&lt;': '<', '&gt;': '>' } as Record<string, string>)[m.toLowerCase()]!,
  );
}

const users: Array<{ username: string; secret: string }> = [];
for (let i = 0; i < USERS; i++) {
  const created = await accounts.create(`bench${i}`, PASSWORD);
  if (!created.ok) throw new Error('signup failed');
  const enrollment = await mfa.beginEnrollment(created.account.id, { accountName: created.account.username });
  if (!enrollment.ok) throw new Error('enrollment failed');
  if (!(await mfa.confirmEnrollment(created.account.id, generateTotp(enrollment.secret, { now: clock.now }))).ok) throw new Error('confirm failed');
  users.push({ username: created.account.username, secret: enrollment.secret });
}
// The confirming code's step is used: log in one step later.
clock.now += 30_000;

const work: Array<{ cookie: string; body: string }> = [];
for (const user of users) {
  let response = await fetch(`${base}/login`);
  let cookie = cookieOf(response, '');
  const form = new URLSearchParams({ _csrf: csrfOf(await response.text()), username: user.username, password: PASSWORD });
  response = await fetch(`${base}/login`, { method: 'POST', body: form, headers: { cookie }, redirect: 'manual' });
  cookie = cookieOf(response, cookie);
  if (response.headers.get('location') !== '/login/mfa') throw new Error(`password step failed: ${response.status}`);
  response = await fetch(`${base}/login/mfa`, { headers: { cookie } });
  cookie = cookieOf(response, cookie);
  const code = generateTotp(user.secret, { now: clock.now });
  work.push({ cookie, body: new URLSearchParams({ _csrf: csrfOf(await response.text()), code }).toString() });
}

process.send!({ base, work });
process.on('disconnect', () => server.close(() => process.exit(0)));
