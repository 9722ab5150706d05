/**
 * Issue 8, point 7: emailed links must never be built from request headers.
 * Without PUBLIC_URL a thief holding the password could send
 * `Host: evil.example` and the owner's mailbox would get a genuine-looking
 * link, token included, to the thief's server.
 */
import { describe, expect, it } from 'vitest';
import { emailedLink, lastEmail, postWithHost, sharedServer, signup, signupAndEnroll, submitPassword } from './helpers.ts';

describe('issue 8 point 7: emailed links ignore the Host header', () => {
  describe('without a configured public URL (development default)', () => {
    // No publicUrl: links use http://localhost:<the port the app listens on>.
    const { server, client } = sharedServer();
    const local = () => `http://localhost:${new URL(server.baseUrl).port}`;

    it('point 7: a recovery request with Host: evil.example emails a link to localhost, not to evil.example', async () => {
      const user = await signupAndEnroll(server, client());
      const c = client();
      await submitPassword(c, user);
      const csrf = await c.csrf('/login/recover');
      expect(await postWithHost(c, '/login/recover', { _csrf: csrf }, 'evil.example')).toBe(303);
      const email = lastEmail(server, user, 'Your recovery link').text;
      expect(email).not.toContain('evil.example');
      expect(emailedLink(email, '/login/recover/complete').origin).toBe(local());
    });

    it('point 7: a password-reset request with Host: evil.example emails a link to localhost, not to evil.example', async () => {
      const user = await signup(client());
      const c = client();
      const csrf = await c.csrf('/forgot-password');
      expect(await postWithHost(c, '/forgot-password', { _csrf: csrf, login: user.username }, 'evil.example')).toBe(303);
      const email = lastEmail(server, user, 'Reset your password').text;
      expect(email).not.toContain('evil.example');
      expect(emailedLink(email, '/reset-password').origin).toBe(local());
    });
  });

  describe('with a configured public URL', () => {
    const { server, client } = sharedServer({ publicUrl: 'https://app.example.test' });

    it('point 7: links use PUBLIC_URL whatever the Host header says', async () => {
      const user = await signup(client());
      const c = client();
      const csrf = await c.csrf('/forgot-password');
      await postWithHost(c, '/forgot-password', { _csrf: csrf, login: user.username }, 'evil.example');
      const email = lastEmail(server, user, 'Reset your password').text;
      expect(email).not.toContain('evil.example');
      expect(emailedLink(email, '/reset-password').origin).toBe('https://app.example.test');
    });
  });
});
