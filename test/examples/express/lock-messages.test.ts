/**
 * Issue 8, point 4: what the example says about locks. A temporary lock
 * (cause `failures`) ends by itself at `retryAt`; a lock after 100 failures
 * without a success (`failure_limit`) and support's (`manual`) end only by
 * `unlock` (which this host does on a password reset for `failure_limit`);
 * email recovery never ends a lock: it cannot be requested while locked, and
 * a lock cancels a pending one. No page, email or file may say otherwise.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { emailTime, whenText } from '../../../examples/express/time.ts';
import {
  emailedLink,
  followText,
  HOUR,
  lastEmail,
  lockByFailureLimit,
  MINUTE,
  sharedServer,
  signupAndEnroll,
  submitPassword,
  textOf,
  wrongCode,
} from './helpers.ts';

const { server, client } = sharedServer();

/** Wordings that say or imply that an email recovery ends (or is a way out of) a lock. */
const RECOVERY_ENDS_LOCK =
  /(complete|completing|completed|finish\w*) (an |the )?email recovery[^.]*\block|\block\w*[^.]*\b(complete|completing|finish\w*) (an |the )?email recovery|email recovery (ends|unlocks|lifts)\b/i;

function expectNoRecoveryUnlock(...texts: string[]): void {
  for (const text of texts) expect(text).not.toMatch(RECOVERY_ENDS_LOCK);
}

const idOf = async (username: string) => (await server.accounts.byUsername(username))!.id;

describe('issue 8 point 4: lock messages say what really ends each lock', () => {
  it('point 4: a temporary lock (cause failures) says it ends by itself at retryAt: code page, login, account page, email', async () => {
    const owner = client();
    const user = await signupAndEnroll(server, owner);
    const c = client();
    await submitPassword(c, user);
    const csrf = await c.csrf('/login/mfa');
    let reply;
    for (let i = 0; i < 5; i++) reply = await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    expect(reply!.status).toBe(429);
    const retryAt = server.clock.ms + MINUTE;
    // The lock screen (issue 14.7): how long in words, and the time.
    const sentence = `Too many wrong codes were entered. Try again ${whenText(retryAt, server.clock.ms, 'up')}. The lock ends by itself then`;
    expect(sentence).toContain('Try again in 1 minute, at 09:');
    expect(textOf(reply!.body)).toContain(sentence);
    const login = await submitPassword(client(), user);
    expect(textOf(login.body)).toContain(sentence);

    const account = await owner.get('/account');
    expect(account.body).toContain('data-cause="failures"');
    expect(textOf(account.body)).toContain(`after too many wrong codes: ends by itself ${whenText(retryAt, server.clock.ms, 'up')}`);

    const email = lastEmail(server, user, 'Your account is locked').text;
    expect(email).toContain(`You can try again in 1 minute, after ${emailTime(retryAt, 'up')}. The lock ends by itself then.`);
    expect(email).toContain('email recovery cannot be requested');
    expectNoRecoveryUnlock(textOf(reply!.body), textOf(login.body), textOf(account.body), email);
  });

  it('point 4: after 100 failures (cause failure_limit) pages and email say a password reset or support ends it, never email recovery', async () => {
    const owner = client();
    const user = await signupAndEnroll(server, owner);
    const last = await lockByFailureLimit(server, user);
    expect(last.status).toBe(429);
    expect(await server.mfa.status(await idOf(user.username))).toMatchObject({ state: 'locked', lockedUntil: null, lockCause: 'failure_limit' });

    const codePage = textOf(last.body);
    const login = textOf((await submitPassword(client(), user)).body);
    for (const text of [codePage, login]) {
      expect(text).toContain('whoever typed them knows your password');
      expect(text).toContain('Reset your password by email');
    }
    const account = await owner.get('/account');
    expect(account.body).toContain('data-cause="failure_limit"');
    expect(account.body).toContain('id="password-known"');
    expect(account.body).toContain('href="/forgot-password"');
    expect(textOf(account.body)).toContain('until you reset your password, or support unlocks it');

    const email = lastEmail(server, user, 'Your account is locked: your password is known').text;
    expect(email).toContain('This lock does not end by itself.');
    expect(email).toContain('email recovery cannot be requested');
    expectNoRecoveryUnlock(codePage, login, textOf(account.body), email);
  });

  it('point 4: a manual lock (support) says only support ends it: not a reset, not email recovery', async () => {
    const owner = client();
    const user = await signupAndEnroll(server, owner);
    await server.mfa.lock(await idOf(user.username), { reason: 'suspected takeover' });

    const login = await submitPassword(client(), user);
    expect(login.status).toBe(429);
    expect(textOf(login.body)).toContain('Your account was locked by support. Only support can unlock it.');
    expect(textOf(login.body)).not.toMatch(/reset/i);
    const account = await owner.get('/account');
    expect(account.body).toContain('data-cause="manual"');
    expect(textOf(account.body)).toContain('by support: until support unlocks it');
    expect(account.body).not.toContain('id="password-known"');

    const email = lastEmail(server, user, 'Your account is locked').text;
    expect(email).toContain('locked by support');
    expect(email).toContain('It stays locked until support unlocks it; a password reset does not end this lock.');
    expectNoRecoveryUnlock(textOf(login.body), textOf(account.body), email);
  });

  it('point 4: a lock cancels a pending email recovery, and none can be requested while locked; the pages and emails say so', async () => {
    const user = await signupAndEnroll(server, client());
    // Someone with the password asks for a recovery; someone else has just passed the password step.
    const thief = client();
    await submitPassword(thief, user);
    await thief.submit('/login/recover', '/login/recover');
    const link = emailedLink(lastEmail(server, user, 'Your recovery link').text, '/login/recover/complete');
    const late = client();
    await submitPassword(late, user);

    await server.mfa.lock(await idOf(user.username));
    const cancelled = lastEmail(server, user, 'Email recovery cancelled').text;
    expect(cancelled).toContain('because your account was locked');

    // The request page is the lock screen now (issue 14.7): no button, email recovery waits too.
    const lockScreen = await late.get('/login/recover');
    expect(lockScreen.status).toBe(429);
    expect(lockScreen.body).not.toContain('action="/login/recover"');
    expect(textOf(lockScreen.body)).toContain('email recovery cannot be requested');
    // A form opened before the lock is refused too.
    const refused = await late.post('/login/recover', { _csrf: await late.csrf('/login') });
    expect(refused.location).toBe('/login');
    const refusal = await followText(late, refused);
    expect(refusal).toContain('Only support can unlock it. Email recovery cannot be requested while your account is locked.');

    server.clock.advance(24 * HOUR);
    const page = textOf((await client().get(link.pathname + link.search)).body);
    expect(page).toContain('This recovery was cancelled.');
    expect(page).toContain('or the account was locked');
    expect((await server.mfa.status(await idOf(user.username))).state).toBe('locked');
    expectNoRecoveryUnlock(cancelled, refusal, page);
  });

  it('point 4: no file of the example (views, emails, routes, README) says email recovery ends a lock', async () => {
    const root = new URL('../../../examples/express/', import.meta.url);
    const files = (await readdir(root, { recursive: true })).filter((name) => /\.(ts|md|css)$/.test(name));
    expect(files).toContain('README.md');
    for (const name of files) {
      const text = (await readFile(new URL(name, root), 'utf8')).replace(/\s+/g, ' ');
      expect(text, name).not.toMatch(RECOVERY_ENDS_LOCK);
    }
  });
});
