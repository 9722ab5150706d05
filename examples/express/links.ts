/**
 * Absolute links for emails (the recovery link, the password-reset link,
 * the reset page named in a lock email).
 *
 * Never built from the request: the Host header (and X-Forwarded-Host) is
 * chosen by the client, so a thief who knows the password could ask for a
 * recovery or reset with `Host: evil.example` and the owner's mailbox would
 * receive a genuine-looking link to the thief's server, token included.
 * The origin is configured (PUBLIC_URL, required in production); without
 * it, it is `http://localhost:<the port this server listens on>`, learned
 * from the listening socket by {@link PublicOrigin.listening}, which is
 * right for a development server on this machine and for nothing else.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class PublicOrigin {
  #origin: string | undefined;

  /** `configured`: an origin such as `https://app.example.com` (no path), or undefined to learn it from the server. */
  constructor(readonly configured: string | undefined) {
    this.#origin = configured;
  }

  /** Called once the server listens: without a configured origin, links point at `http://localhost:<its port>`. */
  listening(server: Server): void {
    if (this.configured !== undefined) return;
    const address = server.address() as AddressInfo | null;
    if (address === null || typeof address !== 'object') throw new Error('PublicOrigin: the server does not listen on a TCP port');
    this.#origin = `http://localhost:${address.port}`;
  }

  /** The origin of emailed links. Throws before it is known (no PUBLIC_URL and not started with ExampleApp.listen). */
  get origin(): string {
    if (this.#origin === undefined) throw new Error('no public URL: pass publicUrl to createApp, or start the server with ExampleApp.listen');
    return this.#origin;
  }

  /** An absolute URL: `path` on the public origin with `query` encoded. */
  link(path: string, query: Record<string, string> = {}): string {
    const search = new URLSearchParams(query).toString();
    return `${this.origin}${path}${search === '' ? '' : `?${search}`}`;
  }
}
