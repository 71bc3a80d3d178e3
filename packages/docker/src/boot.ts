import type PQueue from 'p-queue';
import { BootError, ConfigurationError, type RunnerLaunch } from '@flame-node/core';
import { raceAbort } from './abort';
import { runQueued } from './boot-queue';
import type { ContainerSpec } from './container-spec';
import type { EngineClient } from './engine';
import { DockerEngineError, DockerUnavailableError, engineStatus } from './errors';
import { LABEL } from './labels';
import { RunnerContainer } from './runner-container';
import { removeContainer } from './sweeper';

/** What booting one runner needs besides its spec. */
export interface BootContext {
  readonly client: EngineClient;
  readonly queue: PQueue;
  readonly keepRunners: boolean;
}

/**
 * Creates and starts one runner container through the daemon's boot queue. Honours
 * `launch.signal` while queued and while running: the promise rejects at once, and whatever
 * the daemon created meanwhile is removed as soon as its pending call returns.
 */
export function bootRunner(
  context: BootContext,
  spec: ContainerSpec,
  launch: RunnerLaunch,
): Promise<RunnerContainer> {
  const aborted = (): BootError => abortedError(launch);
  const job = runQueued(context.queue, launch.signal, aborted, () =>
    createAndStart(context, spec, launch),
  );

  // The pool may give up while the job is mid-way; the job cannot be cut short without
  // leaking a container the daemon is still creating, so it finishes and is undone here.
  job.then(
    (container) => {
      if (launch.signal.aborted) void container.discard('boot aborted');
    },
    () => undefined,
  );
  return raceAbort(job, launch.signal, aborted);
}

async function createAndStart(
  context: BootContext,
  spec: ContainerSpec,
  launch: RunnerLaunch,
): Promise<RunnerContainer> {
  const { client } = context;
  const started = Date.now();
  launch.logger.debug({ image: spec.body.Image }, 'creating container');

  let id: string;
  try {
    const created = await client.json<{ Id: string; Warnings?: string[] | null }>({
      method: 'POST',
      path: '/containers/create',
      query: { name: spec.name },
      body: spec.body,
    });
    id = created.Id;
    for (const warning of created.Warnings ?? []) {
      launch.logger.warn({ containerId: id.slice(0, 12), warning }, 'Docker warning on create');
    }
  } catch (error) {
    throw await createFailure(client, spec, launch, error);
  }

  const container = new RunnerContainer(client, id, launch.logger, context.keepRunners);
  try {
    if (launch.signal.aborted) throw abortedError(launch);
    await container.watch();
    if (launch.signal.aborted) throw abortedError(launch);
    await client.json({ method: 'POST', path: `/containers/${id}/start` });
  } catch (error) {
    await container.discard(error instanceof Error ? error.message : String(error));
    throw startFailure(launch, error, await container.exited);
  }

  launch.logger.debug(
    { containerId: id.slice(0, 12), ms: Date.now() - started },
    'container started',
  );
  return container;
}

async function createFailure(
  client: EngineClient,
  spec: ContainerSpec,
  launch: RunnerLaunch,
  error: unknown,
): Promise<Error> {
  if (error instanceof DockerUnavailableError) return error;
  const status = engineStatus(error);
  const said = error instanceof DockerEngineError ? error.engineMessage : String(error);
  const network = String(spec.body.HostConfig.NetworkMode);

  if (status === 409) {
    return new BootError(
      launch.runnerId,
      `a container named ${spec.name} already exists on the Docker daemon at ` +
        `${client.address} (HTTP 409: ${said})`,
      { cause: error },
    );
  }
  if (status === 404 && /network/i.test(said)) {
    return missingNetworkError(network, client.address, error);
  }
  if (status === 404) {
    return new ConfigurationError(
      `image ${String(spec.body.Image)} (options.image) is not on the Docker daemon at ` +
        `${client.address}: ${said}`,
      { cause: error },
    );
  }
  if (status >= 400 && status < 500) {
    return new ConfigurationError(
      'the Docker daemon refused the runner container settings (check options.hostConfig, ' +
        `options.mounts, options.cmd and options.env): ${said}`,
      { cause: error },
    );
  }

  // No answer, or a server error: the container may exist all the same.
  await removeIfOurs(client, spec.name, launch);
  return new BootError(launch.runnerId, `creating the container failed: ${said}`, { cause: error });
}

function startFailure(
  launch: RunnerLaunch,
  error: unknown,
  exit: { code?: number | null; logTail?: string[] },
): Error {
  if (error instanceof DockerUnavailableError || error instanceof BootError) return error;
  const said = error instanceof DockerEngineError ? error.engineMessage : String(error);
  return new BootError(launch.runnerId, `starting the container failed: ${said}`, {
    cause: error,
    exitCode: exit.code ?? null,
    logTail: exit.logTail,
  });
}

/** Removes a container by name only when its labels say it is this very runner. */
async function removeIfOurs(
  client: EngineClient,
  name: string,
  launch: RunnerLaunch,
): Promise<void> {
  try {
    const info = await client.json<{ Id: string; Config?: { Labels?: Record<string, string> } }>({
      method: 'GET',
      path: `/containers/${encodeURIComponent(name)}/json`,
      timeoutMs: 10_000,
    });
    const labels = info.Config?.Labels ?? {};
    if (labels[LABEL.parent] === launch.parentId && labels[LABEL.runner] === launch.runnerId) {
      await removeContainer(client, info.Id, launch.logger);
    }
  } catch {
    // Not there (the usual case), or the daemon is still away: the orphan sweep of a later
    // parent will find it by its labels.
  }
}

/** The error for a network that does not exist. */
export function missingNetworkError(
  network: string,
  address: string,
  cause?: unknown,
): ConfigurationError {
  return new ConfigurationError(
    `network ${network} (options.network) does not exist on the Docker daemon at ${address}: ` +
      `create it (docker network create ${network}) and attach the parent container to it`,
    { cause },
  );
}

function abortedError(launch: RunnerLaunch): BootError {
  const reason: unknown = launch.signal.reason;
  const why = reason instanceof Error ? reason.message : String(reason ?? 'aborted');
  return new BootError(launch.runnerId, `boot aborted (${why})`, { cause: reason });
}
