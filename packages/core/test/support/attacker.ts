import { createHmac, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Packr } from 'msgpackr';
import {
  LocalBackend,
  type Backend,
  type RunnerInstance,
  type RunnerLaunch,
} from '@flame-node/core';

/*
 * The runner's side of the wire, written again from the protocol notes (wire/protocol.ts,
 * wire/handshake.ts) with nothing but node:net, node:crypto and msgpackr, so tests can play
 * a well-behaved runner, a forger or a replayer against a real parent listener. It shares
 * no code with the implementation it attacks: a bug there cannot hide itself here.
 */

/** Must match PROTOCOL_VERSION in wire/protocol.ts. */
export const WIRE_VERSION = 2;

// The same msgpackr settings the parent uses: records, so objects decode as objects.
const packr = new Packr({
  useRecords: true,
  mapsAsObjects: false,
  int64AsType: 'bigint',
} as ConstructorParameters<typeof Packr>[0]);

/** One frame: a 4-byte big-endian length, then the msgpack values back to back. */
export function frameBytes(...values: unknown[]): Buffer {
  const payload = Buffer.concat(values.map((value) => packr.pack(value)));
  return Buffer.concat([lengthPrefix(payload.length), payload]);
}

/** Just the 4-byte length prefix announcing `length` bytes. */
export function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length, 0);
  return prefix;
}

/** HMAC-SHA256 over the direction label, both nonces and the runner id (see handshake.ts). */
export function handshakeMac(
  cookie: string,
  role: 'runner' | 'parent',
  np: Buffer,
  nr: Buffer,
  runnerId: string,
): Buffer {
  return createHmac('sha256', cookie)
    .update(`flame-node/${role}/v${WIRE_VERSION}\0`)
    .update(np)
    .update(nr)
    .update(runnerId)
    .digest();
}

/** How a raw connection ended, timed from the moment it connected. */
export interface Closed {
  /** Milliseconds from connect to close. */
  ms: number;
  hadError: boolean;
}

/**
 * A raw TCP client on the parent's port: sends whatever bytes it is told to, collects the
 * frames the parent sends back, and times when the parent cuts it off.
 */
export class RawPeer {
  readonly socket: Socket;
  readonly connectedAt: number;
  /** Settles when the socket closes, whoever closed it. */
  readonly closed: Promise<Closed>;
  /** Every frame received so far, decoded: each is the list of values in the frame. */
  readonly frames: unknown[][] = [];
  /** The raw bytes of each received frame, prefix included. */
  readonly rawFrames: Buffer[] = [];
  #pending = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.connectedAt = performance.now();
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // A reset from the parent is one way of being cut off; it is not a test failure.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.once('close', (hadError) => {
        this.#isClosed = true;
        this.#wakeAll();
        resolve({ ms: performance.now() - this.connectedAt, hadError });
      });
    });
  }

  /** Connects to 127.0.0.1:`port`. */
  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Writes raw bytes, unless the parent has already cut the connection. */
  send(bytes: Buffer | Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Resolves with frame number `index` (0-based) once it has arrived; rejects on close. */
  async frame(index: number, timeoutMs = 3_000): Promise<unknown[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.frames.length <= index) {
      if (this.#isClosed) throw new Error(`connection closed before frame ${index} arrived`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`frame ${index} did not arrive within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames[index]!;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 4) {
      const length = this.#pending.readUInt32BE(0);
      if (this.#pending.length < 4 + length) break;
      const raw = this.#pending.subarray(0, 4 + length);
      this.rawFrames.push(Buffer.from(raw));
      this.frames.push(packr.unpackMultiple(raw.subarray(4)) as unknown[]);
      this.#pending = this.#pending.subarray(4 + length);
    }
    this.#wakeAll();
  }

  #wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** The parent's challenge as a raw peer received it. */
export interface Challenge {
  v: number;
  nonce: Buffer;
}

/** Waits for the parent's challenge (always the first frame) and checks its shape. */
export async function readChallenge(peer: RawPeer): Promise<Challenge> {
  const [message] = await peer.frame(0);
  const challenge = message as { t?: unknown; v?: unknown; nonce?: unknown };
  if (challenge.t !== 'challenge' || !Buffer.isBuffer(challenge.nonce)) {
    throw new Error(`expected a challenge, received ${JSON.stringify(message)}`);
  }
  return { v: challenge.v as number, nonce: challenge.nonce };
}

/** The bytes of a runner's response frame to `challenge`, MAC'd with `cookie`. */
export function responseFrame(cookie: string, challenge: Challenge, runnerId: string): Buffer {
  const nr = randomBytes(32);
  return frameBytes({
    t: 'response',
    v: WIRE_VERSION,
    runnerId,
    nonce: nr,
    mac: handshakeMac(cookie, 'runner', challenge.nonce, nr, runnerId),
  });
}

/**
 * A relay between a runner and the parent's listener that records every byte the runner
 * sends: what a peer on the network path would see.
 */
export class Tap {
  readonly port: number;
  /** Bytes runner to parent, in order, over every connection relayed. */
  readonly fromRunner: Buffer[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  /** Starts relaying 127.0.0.1:`port` (returned as `tap.port`) to 127.0.0.1:`targetPort`. */
  static async open(targetPort: number): Promise<Tap> {
    let tap: Tap | undefined;
    const server = createServer((downstream) => tap!.#relay(downstream, targetPort));
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    tap = new Tap(server, (server.address() as AddressInfo).port);
    return tap;
  }

  /** The first frame the runner sent (its handshake response), prefix included. */
  firstRunnerFrame(): Buffer {
    const bytes = Buffer.concat(this.fromRunner);
    if (bytes.length < 4) throw new Error('the runner has sent nothing through the tap');
    return Buffer.from(bytes.subarray(0, 4 + bytes.readUInt32BE(0)));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #relay(downstream: Socket, targetPort: number): void {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [downstream, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => this.#sockets.delete(socket));
    }
    downstream.on('data', (chunk: Buffer) => {
      this.fromRunner.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => downstream.write(chunk));
    downstream.once('close', () => upstream.destroy());
    upstream.once('close', () => downstream.destroy());
  }
}

/** A started runner, as the recording backend saw it. */
export interface RecordedLaunch {
  runnerId: string;
  env: Readonly<Record<string, string>>;
  /** `FLAME_PARENT`, decoded: the parent's own listener, not the tap. */
  parent: { host: string; port: number; runnerId: string; handshakeTimeout: number };
  cookie: string;
  /** The relay the runner was pointed at, when the backend taps. */
  tap?: Tap;
}

/**
 * A Backend that starts real runner processes through `LocalBackend` and records what each
 * launch was given: the parent's port and the cookie are in its environment. With `tap`,
 * each runner dials the parent through a recording relay instead of directly.
 */
export class RecordingBackend implements Backend {
  readonly kind = 'recording-local';
  readonly launches: RecordedLaunch[] = [];
  readonly #inner = new LocalBackend();
  readonly #tap: boolean;

  constructor(options: { tap?: boolean } = {}) {
    this.#tap = options.tap ?? false;
  }

  listenHost(): string {
    return this.#inner.listenHost();
  }

  parentHost(): string {
    return this.#inner.parentHost();
  }

  async start(launch: RunnerLaunch): Promise<RunnerInstance> {
    const encoded = launch.env.FLAME_PARENT;
    const cookie = launch.env.FLAME_COOKIE;
    if (encoded === undefined || cookie === undefined) {
      throw new Error('the launch env has no FLAME_PARENT or FLAME_COOKIE');
    }
    const json = Buffer.from(encoded, 'base64url').toString('utf8');
    const descriptor = JSON.parse(json) as Record<string, unknown>;
    const recorded: RecordedLaunch = {
      runnerId: launch.runnerId,
      env: launch.env,
      parent: descriptor as unknown as RecordedLaunch['parent'],
      cookie,
    };
    this.launches.push(recorded);
    if (!this.#tap) return this.#inner.start(launch);

    const tap = await Tap.open(recorded.parent.port);
    recorded.tap = tap;
    const viaTap = Buffer.from(JSON.stringify({ ...descriptor, port: tap.port })).toString('base64url');
    return this.#inner.start({ ...launch, env: { ...launch.env, FLAME_PARENT: viaTap } });
  }

  /** The last launch; throws if no runner was started yet. */
  get last(): RecordedLaunch {
    const launch = this.launches[this.launches.length - 1];
    if (launch === undefined) throw new Error('no runner was started');
    return launch;
  }

  /** Closes every tap (after the pool is closed). */
  async close(): Promise<void> {
    await Promise.all(this.launches.map((launch) => launch.tap?.close()));
  }
}
