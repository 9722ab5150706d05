/**
 * The journey against example servers started with `npm start`
 * (npm-start.ts), whose clocks are real: sign up and turn MFA on, log in
 * with the password and a code. Codes come from the real time, so the
 * enrollment is confirmed with the code of the previous 30 s step (twofold
 * accepts one step of drift) and every login after it can use the code of
 * the current step without waiting for the next one. No vitest here.
 */
import { generateTotp } from 'twofold';
import { Client, csrfOf, openSetup, recoveryCodesOf, setupOf, signup, submitPassword, textOf, type EnrolledUser, type Reply, type TestUser } from './helpers.ts';

const STEP_MS = 30_000;

/** The TOTP code of `secret` at the real time, `steps` steps from now. */
export function liveCode(secret: string, steps = 0): string {
  return generateTotp(secret, { now: Date.now() + steps * STEP_MS });
}

/** Wait out the last second of a 30 s step, so a code made now is still the current one when the server checks it. */
export async function awayFromStepEdge(): Promise<void> {
  const into = Date.now() % STEP_MS;
  if (into > STEP_MS - 1500) await new Promise((resolve) => setTimeout(resolve, STEP_MS - into + 100));
}

/** Sign up and turn MFA on with an authenticator app, on a server with a real clock. The client ends signed in. */
export async function signupAndEnrollLive(client: Client, user: Partial<TestUser> = {}): Promise<EnrolledUser> {
  const created = await signup(client, user);
  const setup = await openSetup(client, created);
  const { secret } = setupOf(setup.body);
  await awayFromStepEdge();
  // The previous step's code: the logins that follow may use the current step's at once.
  const confirm = await client.post('/mfa/setup', { _csrf: csrfOf(setup.body, '/mfa/setup'), code: liveCode(secret, -1) });
  if (confirm.status !== 303 || confirm.location !== '/mfa/recovery-codes') throw new Error(`enrollment failed: ${confirm.status} ${textOf(confirm.body)}`);
  const { codes } = recoveryCodesOf((await client.get('/mfa/recovery-codes')).body);
  return { ...created, secret, codes };
}

/** The password step, then `code` (default: the current one): the reply of POST /login/mfa. */
export async function loginLive(client: Client, user: EnrolledUser, code?: string): Promise<Reply> {
  const password = await submitPassword(client, user);
  if (password.location !== '/login/mfa') throw new Error(`password step failed: ${password.status} ${textOf(password.body)}`);
  await awayFromStepEdge();
  return client.submit('/login/mfa', '/login/mfa', { code: code ?? liveCode(user.secret) });
}

/** A browser with `client`'s cookies talking to another server (another port: cookies do not care). */
export function sameBrowser(client: Client, baseUrl: string): Client {
  const moved = new Client(baseUrl, client.headers);
  for (const [name, value] of client.cookies) moved.cookies.set(name, value);
  return moved;
}

/** Whether `client` is signed in (as `username`) on its server. */
export async function signedInAs(client: Client, username: string): Promise<boolean> {
  const page = await client.get('/account');
  return page.status === 200 && textOf(page.body).includes(`Signed in as ${username}`);
}
