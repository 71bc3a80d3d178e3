import { raceAbort } from './abort';
import { EngineClient } from './engine';
import { ImageStore } from './image';
import type { ParentIdentity } from './labels';
import { findOwnContainer } from './parent-identity';
import type { DockerEndpoint } from './socket';

/**
 * What a backend knows about one daemon: the client, whether it answered, which images are
 * in place, and this process's own container there. Every backend on that daemon shares it.
 */
export class DockerSession {
  readonly client: EngineClient;
  readonly images: ImageStore;
  private pinged: Promise<void> | undefined;
  private own: Promise<ParentIdentity['container']> | undefined;
  private readonly done = new Map<string, Promise<void>>();

  constructor(endpoint: DockerEndpoint) {
    this.client = new EngineClient(endpoint);
    this.images = new ImageStore(this.client);
  }

  /**
   * Resolves once the daemon has answered a ping. Until then every caller shares one ping
   * with a short timeout (a failure is forgotten, so the next caller tries again); `signal`
   * lets one caller stop waiting early.
   */
  ready(signal?: AbortSignal, onAbort?: () => Error, timeoutMs?: number): Promise<void> {
    let pending = this.pinged;
    if (!pending) {
      const attempt = this.client.ping(undefined, timeoutMs);
      this.pinged = pending = attempt;
      attempt.catch(() => {
        if (this.pinged === attempt) this.pinged = undefined;
      });
    }
    return raceAbort(pending, signal, onAbort ?? (() => signal?.reason as Error));
  }

  /** Runs `work` the first time `key` is asked for; later callers share its promise. */
  once(key: string, work: () => Promise<void>): Promise<void> {
    let running = this.done.get(key);
    if (!running) {
      running = work();
      this.done.set(key, running);
    }
    return running;
  }

  /** This process's own container on the daemon, looked up once. */
  ownContainer(): Promise<ParentIdentity['container']> {
    this.own ??= findOwnContainer(this.client);
    return this.own;
  }
}
