import { ConfigurationError } from '@flame-node/core';
import { readJsonLines, type EngineClient } from './engine';
import { engineStatus } from './errors';
import type { PullPolicy } from './options';

type Logger = import('@flame-node/core').RunnerLaunch['logger'];

/** An image reference split the way the Engine's pull endpoint wants it. */
export interface ImageRef {
  /** Everything before the tag or digest, registry and port included. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Splits `registry:5000/team/app:1.2@sha256:...` into repository, tag and digest. A colon
 * only starts the tag when it comes after the last slash, so registry ports stay put.
 */
export function parseImageRef(image: string): ImageRef {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }

  if (rest === '' || tag === '' || digest === '') {
    const shown = JSON.stringify(image);
    throw new ConfigurationError(`options.image ${shown} is not an image reference`);
  }
  return { repository: rest, tag, digest };
}

/** The `tag` query value of a pull: the digest when there is one, else the tag or `latest`. */
export function pullTag(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Makes sure images are on the daemon, pulling each at most once at a time. */
export class ImageStore {
  private readonly ready = new Map<string, Promise<void>>();

  constructor(private readonly client: EngineClient) {}

  /**
   * Resolves once `image` is usable under `policy`. Concurrent callers share one check or
   * pull; a failure is forgotten so a later runner tries again.
   */
  ensure(image: string, policy: PullPolicy, logger: Logger): Promise<void> {
    const key = `${policy} ${image}`;
    let pending = this.ready.get(key);
    if (!pending) {
      pending = this.check(image, policy, logger);
      this.ready.set(key, pending);
      pending.catch(() => this.ready.delete(key));
    }
    return pending;
  }

  private async check(image: string, policy: PullPolicy, logger: Logger): Promise<void> {
    const ref = parseImageRef(image);
    if (policy !== 'always' && (await this.exists(image))) return;

    if (policy === 'never') {
      throw new ConfigurationError(
        `image ${image} is not on the Docker daemon at ${this.client.address} and ` +
          'options.pull is "never": build or load it there, or set pull to "missing"',
      );
    }
    await this.pull(image, ref, logger);

    if (!(await this.exists(image))) {
      throw new ConfigurationError(
        `pulled image ${image}, but the daemon at ${this.client.address} still does not have it`,
      );
    }
  }

  private async exists(image: string): Promise<boolean> {
    try {
      await this.client.json({ method: 'GET', path: `/images/${image}/json` });
      return true;
    } catch (error) {
      if (engineStatus(error) === 404) return false;
      throw error;
    }
  }

  private async pull(image: string, ref: ImageRef, logger: Logger): Promise<void> {
    const started = Date.now();
    const tag = pullTag(ref);
    logger.info({ image, repository: ref.repository, tag }, 'pulling image');

    let stream;
    try {
      stream = await this.client.stream({
        method: 'POST',
        path: '/images/create',
        query: { fromImage: ref.repository, tag },
      });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new ConfigurationError(`cannot pull image ${image}: ${why}`, { cause: error });
    }

    // The Engine answers 200 and then reports failures (unknown tag, denied access, disk
    // full) as an {"error": ...} object inside the progress stream.
    const failure = await readPullProgress(stream.response);
    if (failure !== undefined) {
      throw new ConfigurationError(`cannot pull image ${image} (tag ${tag}): ${failure}`);
    }
    logger.info({ image, ms: Date.now() - started }, 'pulled image');
  }
}

/** Reads a pull progress stream to its end; resolves with the first error it reports. */
async function readPullProgress(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  let failure: string | undefined;
  const ended = await readJsonLines(
    stream,
    (value) => {
      const event = value as { error?: unknown; errorDetail?: { message?: unknown } } | null;
      if (failure !== undefined || (event?.error === undefined && !event?.errorDetail)) return;
      failure = String(event.error ?? event.errorDetail?.message ?? 'unknown error');
    },
    (line) => (failure ??= `unreadable pull progress: ${line.slice(0, 200)}`),
  );
  return ended ? failure : (failure ?? 'the pull stream broke before the pull finished');
}
