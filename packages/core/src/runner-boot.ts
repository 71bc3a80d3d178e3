import type { Logger } from 'pino';
import type { Backend, RunnerInstance } from './backend';
import { BootError, describeExit } from './errors';
import { PARENT_ID } from './identity';
import type { ParentListener } from './listener';
import { RunnerLink, type LinkSink } from './runner-link';
import type { RunnerSlot } from './runner-slot';
import type { ReadyMessage } from './wire/protocol';

/** What booting one runner needs from its pool. */
export interface BootContext {
  readonly backend: Backend;
  readonly pool: string;
  readonly bootTimeout: number;
  readonly logger: Logger;
  /** The pool's listener, started on first use. */
  listening(): Promise<ParentListener>;
  /** The runner's environment, once the listener's port is known. */
  env(port: number): Record<string, string>;
  /** Where the runner's replies go. */
  readonly sink: LinkSink;
}

/**
 * Starts the runner of `slot` and waits for it to connect, pass the handshake and say it is
 * ready. Sets `slot.instance` and `slot.link` as they come, so whoever handles a failure can
 * stop what was started. Fails with a `BootError` at once when the runner exits during boot
 * (exit code and last log lines included), at `bootTimeout`, or when `slot.boot` is aborted.
 */
export interface BootedRunner {
  readonly instance: RunnerInstance;
  readonly link: RunnerLink;
  readonly info: ReadyMessage;
}

export async function bootRunner(slot: RunnerSlot, context: BootContext): Promise<BootedRunner> {
  const signal = slot.boot.signal;
  const timer = setTimeout(() => {
    const reason = `it did not connect back within bootTimeout (${context.bootTimeout} ms)`;
    slot.boot.abort(new BootError(slot.id, reason));
  }, context.bootTimeout);
  const aborted = settledBy(signal);
  let stopExpecting: (() => void) | undefined;

  try {
    const listener = await Promise.race([context.listening(), aborted]);
    const expectation = listener.expect(slot.id);
    stopExpecting = expectation.stop;

    const starting = context.backend.start({
      runnerId: slot.id,
      pool: context.pool,
      parentId: PARENT_ID,
      env: context.env(listener.port),
      signal,
      logger: context.logger,
    });
    slot.starting = starting;
    const instance = await Promise.race([starting, aborted]);
    slot.instance = instance;

    const exitedEarly = instance.exited.then((exit): never => {
      throw new BootError(slot.id, `the runner exited during boot (${describeExit(exit)})`, {
        exitCode: exit.code ?? null,
        logTail: exit.logTail ?? [],
      });
    });
    exitedEarly.catch(() => undefined);

    const channel = await Promise.race([expectation.channel, exitedEarly, aborted]);
    const link = new RunnerLink(channel, context.logger, context.sink);
    slot.link = link;
    const info = await Promise.race([link.ready, exitedEarly, aborted]);
    return { instance, link, info };
  } catch (error) {
    stopExpecting?.();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** A promise that rejects with the signal's reason once it aborts, and never resolves. */
function settledBy(signal: AbortSignal): Promise<never> {
  const promise = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  promise.catch(() => undefined);
  return promise;
}
