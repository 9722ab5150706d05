/**
 * A TCP proxy in front of the test Redis that drops a connection at a chosen
 * moment, for the fault tests: after Redis ran a command but before its
 * reply reached the client (the case where a re-sent command runs twice),
 * and with new connections held back so another client can act before the
 * victim reconnects. A real network fault, without touching the server's
 * other clients (no CLIENT PAUSE, no DEBUG).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { REDIS_URL } from '../support/services.ts';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** The next reply from Redis is swallowed and the connection dropped. */
  swallowReply: (() => void) | null;
}

export class FaultProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #held: Socket[] = [];
  #mode: 'forward' | 'hold' | 'refuse' = 'forward';
  #cut: { marker: string; done: () => void } | null = null;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** A proxy to the test Redis on a free local port. */
  static async start(): Promise<FaultProxy> {
    const target = new URL(REDIS_URL);
    let proxy!: FaultProxy;
    const server = createServer((client) => proxy.#accept(client, target.hostname, Number(target.port || 6379)));
    proxy = new FaultProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    return `redis://127.0.0.1:${address.port}`;
  }

  /**
   * Drop the connection of the next request that contains `marker` (e.g. a
   * script's SHA-1) right after Redis answers it: the command ran, the client
   * never sees the reply. Resolves once the connection is dropped.
   */
  cutAfterReply(marker: string): Promise<void> {
    return new Promise((done) => {
      this.#cut = { marker, done };
    });
  }

  /** Accept new connections but forward nothing until {@link release}: the victim stays offline. */
  hold(): void {
    this.#mode = 'hold';
  }

  /** Reset every new connection until {@link release}, as an unreachable Redis would. */
  refuse(): void {
    this.#mode = 'refuse';
  }

  /** Forward again, starting with the connections held meanwhile. */
  release(): void {
    this.#mode = 'forward';
    const held = this.#held;
    this.#held = [];
    const target = new URL(REDIS_URL);
    for (const client of held) this.#accept(client, target.hostname, Number(target.port || 6379));
  }

  async close(): Promise<void> {
    for (const client of this.#held) client.destroy();
    for (const pair of this.#pairs) this.#drop(pair);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, host: string, port: number): void {
    client.on('error', () => undefined);
    if (this.#mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.#mode === 'hold') {
      client.pause();
      this.#held.push(client);
      return;
    }
    const upstream = connect({ host, port });
    upstream.on('error', () => undefined);
    const pair: Pair = { client, upstream, swallowReply: null };
    this.#pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      const cut = this.#cut;
      if (cut && chunk.includes(cut.marker)) {
        this.#cut = null;
        pair.swallowReply = cut.done;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const swallowed = pair.swallowReply;
      if (swallowed) {
        this.#drop(pair);
        swallowed();
        return;
      }
      client.write(chunk);
    });
    client.on('close', () => this.#drop(pair));
    upstream.on('close', () => this.#drop(pair));
    client.resume();
  }

  #drop(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
