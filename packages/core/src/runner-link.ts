import type { Logger } from 'pino';
import { ProtocolError } from './errors';
import type { Channel } from './wire/channel';
import type {
  CallKind,
  ReadyMessage,
  RunnerMessage,
  StopMessage,
  CancelMessage,
} from './wire/protocol';
import { fromWireError } from './wire-error';
import type { CallState } from './call-state';
import type { Body } from './wire/codec';

/** Where replies go: one sink for every call of a link. */
export interface LinkSink {
  started(call: CallState): void;
  result(call: CallState, value: unknown): void;
  error(call: CallState, error: Error): void;
}

/**
 * The parent's end of one runner's connection: sends calls tagged by id, routes replies
 * back to their listeners, and reports when the connection is gone. Many calls share the
 * connection at once.
 */
export class RunnerLink {
  readonly channel: Channel;
  readonly #calls = new Map<number, CallState>();
  readonly #log: Logger;
  readonly #sink: LinkSink;
  #nextId = 1;
  #ready: { resolve(info: ReadyMessage): void; reject(error: Error): void } | undefined;

  /** Settles with the runner's `ready` message, or rejects if the connection closes first. */
  readonly ready: Promise<ReadyMessage>;

  constructor(channel: Channel, log: Logger, sink: LinkSink) {
    this.#sink = sink;
    this.channel = channel;
    this.#log = log;
    this.ready = new Promise((resolve, reject) => (this.#ready = { resolve, reject }));
    // Nobody may be waiting for `ready` when it fails; the failure is handled elsewhere.
    this.ready.catch(() => undefined);
    channel.setHandler((header, body) => this.#onFrame(header as RunnerMessage, body));
    channel.once('close', (error) => {
      this.#ready?.reject(
        error ?? new ProtocolError('runner closed the connection before it was ready'),
      );
    });
  }

  /** Calls sent and not yet answered. */
  get pending(): number {
    return this.#calls.size;
  }

  /** Sends a call whose arguments are already encoded; returns its id. */
  dispatch(kind: CallKind, body: Body, timeout: number, call: CallState): number {
    const id = this.#nextId++;
    // Sent first: a frame the channel refuses leaves no call registered.
    this.channel.send({ t: 'call', id, task: call.task, kind, timeout }, body);
    this.#calls.set(id, call);
    return id;
  }

  /** Asks the runner to abort call `id`. Its eventual reply is still awaited, then dropped. */
  cancel(id: number, reason: CancelMessage['reason']): void {
    if (this.#calls.has(id)) this.channel.send({ t: 'cancel', id, reason });
  }

  /** Asks the runner to abort every unanswered call. */
  cancelAll(reason: CancelMessage['reason']): void {
    for (const id of this.#calls.keys()) this.channel.send({ t: 'cancel', id, reason });
  }

  /** Asks the runner to stop every child call (placeChild) it runs. */
  stopChildren(): void {
    for (const [id, call] of this.#calls) {
      if (call.kind === 'child') this.channel.send({ t: 'cancel', id, reason: 'stopped' });
    }
  }

  /** Tells the runner to leave; it closes the connection when it does. */
  stop(reason: string): void {
    const message: StopMessage = { t: 'stop', reason };
    this.channel.send(message);
  }

  /** Fails every unanswered call with `error` (the runner is gone). */
  failAll(error: Error): void {
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    for (const call of calls) this.#sink.error(call, error);
  }

  #onFrame(message: RunnerMessage, body: unknown): void {
    switch (message.t) {
      case 'ready':
        this.#ready?.resolve(message);
        return;
      case 'started': {
        const call = this.#calls.get(message.id);
        if (call !== undefined) this.#sink.started(call);
        return;
      }
      case 'result': {
        const call = this.#take(message.id);
        if (call !== undefined) this.#sink.result(call, body);
        return;
      }
      case 'error': {
        const call = this.#take(message.id);
        if (call !== undefined)
          this.#sink.error(call, fromWireError(call.task, message.origin, message.error));
        return;
      }
      default:
        throw new ProtocolError(
          `unknown message ${JSON.stringify((message as { t?: unknown }).t)} from runner`,
        );
    }
  }

  #take(id: number): CallState | undefined {
    const listener = this.#calls.get(id);
    if (listener === undefined) {
      this.#log.debug({ id }, 'reply for an unknown call dropped');
      return undefined;
    }
    this.#calls.delete(id);
    return listener;
  }
}
