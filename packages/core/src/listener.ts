import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { HandshakeError } from './errors';
import { Channel } from './wire/channel';
import { acceptHandshake } from './wire/handshake';
import { HANDSHAKE_MAX_FRAME } from './wire/protocol';

interface Expected {
  resolve(channel: Channel): void;
}

export interface ListenerOptions {
  host: string;
  cookie: string;
  handshakeTimeout: number;
  maxFrame: number;
  logger: Logger;
}

/**
 * The parent's TCP listener. Runners dial it; each connection must pass the cookie
 * handshake within `handshakeTimeout`, sending only small frames until it has, and must
 * name a runner this parent is waiting for. Anything else is dropped.
 */
export class ParentListener {
  readonly #options: ListenerOptions;
  readonly #server: Server;
  readonly #expected = new Map<string, Expected>();
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(options: ListenerOptions) {
    this.#options = options;
    this.#server = createServer((socket) => this.#onConnection(socket));
  }

  /** Binds to an ephemeral port on the configured host; resolves to the port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: this.#options.host, port: 0 }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    // The listener alone must not keep the process alive: runners' connections and
    // processes do that while there are any.
    this.#server.unref();
    const address = this.#server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : 0;
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  /** Waits for runner `runnerId` to connect and authenticate. `stop()` withdraws the wait. */
  expect(runnerId: string): { channel: Promise<Channel>; stop(): void } {
    let resolve!: (channel: Channel) => void;
    const channel = new Promise<Channel>((done) => (resolve = done));
    this.#expected.set(runnerId, { resolve });
    return { channel, stop: () => this.#expected.delete(runnerId) };
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    this.#expected.clear();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #onConnection(socket: Socket): Promise<void> {
    const { cookie, handshakeTimeout, logger } = this.#options;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    const channel = new Channel(socket, HANDSHAKE_MAX_FRAME);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;

    // The handshake has its own deadline, but a peer that never sends anything must not
    // keep the socket open either: the timer below covers the whole exchange.
    const timer = setTimeout(
      () => channel.destroy(new HandshakeError('handshake timed out')),
      handshakeTimeout,
    );
    let runnerId: string;
    try {
      runnerId = await acceptHandshake(channel, cookie, handshakeTimeout, (id) =>
        this.#expected.has(id),
      );
    } catch (error) {
      // The peer's failure, not ours: its reason, without a stack trace of our own code.
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ peer, reason }, 'connection refused: handshake failed');
      channel.destroy();
      return;
    } finally {
      clearTimeout(timer);
    }

    // Checked in the handshake, but the boot may have been given up since.
    const expected = this.#expected.get(runnerId);
    if (expected === undefined) {
      logger.warn({ peer, runnerId }, 'connection refused: no such runner is booting');
      channel.destroy();
      return;
    }
    this.#expected.delete(runnerId);
    channel.setMaxFrame(this.#options.maxFrame);
    expected.resolve(channel);
  }
}
