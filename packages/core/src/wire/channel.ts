import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Chunks, Codec, type Body } from './codec';
import { FrameDecoder, frameHeader } from './frame-decoder';
import { FrameTooLargeError, ProtocolError } from '../errors';

/** Bytes queued in the socket above which senders are asked to wait for `drain`. */
export const WRITE_HIGH_WATER = 1024 * 1024;

// Chunks smaller than this are joined (copied) into one write; larger ones go as they are.
const JOIN_BELOW = 16 * 1024;

export interface ChannelEvents {
  close: [error: Error | undefined];
}

/**
 * Receives one frame: its header (a message object) and, for frames that carry one, the
 * body value (call arguments, a result). `hasBody` tells an absent body from `undefined`.
 */
export type FrameHandler = (header: unknown, body: unknown, hasBody: boolean) => void;

/**
 * A framed, msgpack-speaking connection.
 *
 * A frame's payload is a small header value, optionally followed by a body value encoded
 * on its own. Bodies are encoded before a call is queued (so a bad value fails before
 * anything is sent) and written as they are, never copied into the header.
 *
 * Frames written in the same tick go out together: the socket is corked on the first
 * write and uncorked on the next tick, so a burst of calls costs one syscall. `writable`
 * and `whenWritable()` expose backpressure so senders stop while a slow peer catches up.
 */
export class Channel extends EventEmitter<ChannelEvents> {
  readonly socket: Socket;
  readonly #codec = new Codec();
  readonly #decoder: FrameDecoder;
  #maxFrame: number;
  #corked = false;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #closed = false;
  #closeError: Error | undefined;
  #drainWaiters: Array<() => void> = [];
  #handler: FrameHandler | null = null;
  #backlog: unknown[][] = [];

  constructor(socket: Socket, maxFrame: number) {
    super();
    this.socket = socket;
    this.#maxFrame = maxFrame;
    this.#decoder = new FrameDecoder(maxFrame);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#releaseDrainWaiters());
    socket.on('error', (error) => {
      this.#closeError ??= error;
    });
    socket.on('close', () => this.#onClose());
  }

  /**
   * Sets who receives frames. While no one does, frames wait in order and are handed over
   * when a handler is set, so none is lost between two owners (the handshake, then the
   * pool or agent).
   */
  setHandler(handler: FrameHandler | null): void {
    this.#handler = handler;
    while (this.#handler === handler && handler !== null && this.#backlog.length > 0) {
      this.#deliver(handler, this.#backlog.shift()!);
    }
  }

  /** Raises (or lowers) the frame limit in both directions, e.g. after the handshake. */
  setMaxFrame(maxFrame: number): void {
    this.#maxFrame = maxFrame;
    this.#decoder.maxFrame = maxFrame;
  }

  get maxFrame(): number {
    return this.#maxFrame;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** False while the socket holds more than `WRITE_HIGH_WATER` unsent bytes. */
  get writable(): boolean {
    return this.socket.writableLength + this.#batchBytes < WRITE_HIGH_WATER;
  }

  /** Resolves once the socket has room again (at once if it already has, or is closed). */
  whenWritable(): Promise<void> {
    if (this.writable || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Encodes a body value, throwing `SerializationError` if it cannot be encoded and
   * `FrameTooLargeError` if it is over the frame limit.
   */
  encode(value: unknown, what: string): Body {
    const payload = this.#codec.encodeBody(value, what);
    if (payload.length > this.#maxFrame) {
      throw FrameTooLargeError.describe(what, payload.length, this.#maxFrame);
    }
    return payload;
  }

  /** Queues a frame made of `header` and an optional pre-encoded `body`. */
  send(header: object, body?: Body): void {
    if (this.#closed) return;
    const head = this.#codec.encode(header, 'message');
    const length = head.length + (body?.length ?? 0);
    if (length > this.#maxFrame) {
      throw FrameTooLargeError.describe('message', length, this.#maxFrame);
    }

    // Frames of a tick are gathered here and written on the next tick, small
    // chunks joined into one buffer, so a burst of 1000 calls is one socket.write instead
    // of 3000 (each a stream request and a writev entry).
    const batch = this.#batch;
    batch.push(frameHeader(length), head);
    if (body instanceof Chunks) batch.push(...body.parts);
    else if (body !== undefined) batch.push(body);
    this.#batchBytes += 4 + length;
    if (!this.#corked) {
      this.#corked = true;
      process.nextTick(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#corked = false;
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    const socket = this.socket;
    if (socket.destroyed || batch.length === 0) return;

    socket.cork();
    let run: Buffer[] = [];
    let runBytes = 0;
    const writeRun = () => {
      if (run.length === 0) return;
      socket.write(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
      run = [];
      runBytes = 0;
    };
    for (const chunk of batch) {
      if (chunk.length >= JOIN_BELOW) {
        writeRun();
        socket.write(chunk);
      } else {
        run.push(chunk);
        runBytes += chunk.length;
      }
    }
    writeRun();
    socket.uncork();
  };

  /** Flushes what is queued, then closes the write side. */
  end(): void {
    this.#flush();
    if (!this.#closed) this.socket.end();
  }

  /** Drops the connection at once. */
  destroy(error?: Error): void {
    if (error) this.#closeError ??= error;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }

    for (const frame of frames) {
      if (this.#closed || this.socket.destroyed) return;
      // An empty frame carries nothing; peers may use it to keep a connection warm.
      if (frame.length === 0) continue;
      let values: unknown[];
      try {
        values = this.#codec.decode(frame);
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      if (this.#handler !== null) this.#deliver(this.#handler, values);
      else this.#backlog.push(values);
    }
  }

  #deliver(handler: FrameHandler, values: unknown[]): void {
    try {
      handler(values[0], values[1], values.length > 1);
    } catch (error) {
      // A handler throws only on a message that breaks the protocol.
      this.destroy(error instanceof Error ? error : new ProtocolError(String(error)));
    }
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#releaseDrainWaiters();
    this.emit('close', this.#closeError);
  }

  #releaseDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
