import * as os from 'node:os';
import { ConfigurationError } from '@flame-node/core';
import { validateOptions, type DockerMount, type OptionLayer, type PullPolicy } from './options';

/** Every option with its value after layering and defaults. */
export interface ResolvedDockerOptions {
  readonly image: string;
  readonly network: string;
  readonly hostConfig: Readonly<Record<string, unknown>>;
  readonly mounts: readonly DockerMount[];
  /** `undefined` means the default runner command, resolved when the first runner starts. */
  readonly cmd: readonly string[] | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly socketPath: string | undefined;
  readonly pull: PullPolicy;
  readonly keepRunners: boolean;
  readonly parentHost: string;
}

const DEFAULTS = Object.freeze({
  pull: 'missing' as PullPolicy,
  keepRunners: false,
});

/**
 * The application-default layer from the environment: `FLAME_DOCKER_IMAGE`,
 * `FLAME_DOCKER_NETWORK`, `FLAME_DOCKER_HOST_CONFIG` (a JSON object) and `FLAME_DOCKER_PULL`.
 * Empty values count as unset. Anything unusable is a `ConfigurationError` naming the
 * variable.
 */
export function environmentLayer(env: NodeJS.ProcessEnv = process.env): OptionLayer {
  const input: Record<string, unknown> = {};
  if (env.FLAME_DOCKER_IMAGE) input.image = env.FLAME_DOCKER_IMAGE.trim();
  if (env.FLAME_DOCKER_NETWORK) input.network = env.FLAME_DOCKER_NETWORK.trim();
  if (env.FLAME_DOCKER_PULL) input.pull = env.FLAME_DOCKER_PULL.trim();

  const rawHostConfig = env.FLAME_DOCKER_HOST_CONFIG?.trim();
  if (rawHostConfig) {
    try {
      input.hostConfig = JSON.parse(rawHostConfig);
    } catch (error) {
      throw new ConfigurationError(
        `FLAME_DOCKER_HOST_CONFIG is not valid JSON (${(error as Error).message}); expected an ` +
          'object of HostConfig fields such as {"Memory":536870912}',
        { cause: error },
      );
    }
  }

  try {
    return validateOptions(input);
  } catch (error) {
    const message = (error as Error).message
      .replace(/^options\.image/, 'FLAME_DOCKER_IMAGE')
      .replace(/^options\.network/, 'FLAME_DOCKER_NETWORK')
      .replace(/^options\.hostConfig/, 'FLAME_DOCKER_HOST_CONFIG')
      .replace(/^options\.pull/, 'FLAME_DOCKER_PULL');
    throw new ConfigurationError(message, { cause: error });
  }
}

/**
 * Stacks layers, later ones winning. `hostConfig`, `env` and `labels` merge key by key;
 * everything else (including `mounts` and `cmd`) is replaced as a whole.
 */
export function mergeLayers(layers: readonly OptionLayer[]): OptionLayer {
  const merged: OptionLayer = {};
  for (const layer of layers) {
    const { hostConfig, env, labels, ...plain } = layer;
    Object.assign(merged, plain);
    if (hostConfig) merged.hostConfig = { ...merged.hostConfig, ...hostConfig };
    if (env) merged.env = { ...merged.env, ...env };
    if (labels) merged.labels = { ...merged.labels, ...labels };
  }
  return merged;
}

/** Fills in defaults and checks the required options. */
export function resolveOptions(layer: OptionLayer): ResolvedDockerOptions {
  if (layer.image === undefined) {
    throw new ConfigurationError(
      'the Docker backend needs an image: set options.image, DockerBackend.configure({ image }) ' +
        'or FLAME_DOCKER_IMAGE (normally the image this parent runs from)',
    );
  }
  if (layer.network === undefined) {
    throw new ConfigurationError(
      'the Docker backend needs a network: set options.network, ' +
        'DockerBackend.configure({ network }) or FLAME_DOCKER_NETWORK (a user-defined network ' +
        'the parent container is attached to)',
    );
  }

  return Object.freeze({
    image: layer.image,
    network: layer.network,
    hostConfig: Object.freeze({ ...layer.hostConfig }),
    mounts: Object.freeze([...(layer.mounts ?? [])]),
    cmd: layer.cmd ? Object.freeze([...layer.cmd]) : undefined,
    env: Object.freeze({ ...layer.env }),
    labels: Object.freeze({ ...layer.labels }),
    socketPath: layer.socketPath,
    pull: layer.pull ?? DEFAULTS.pull,
    keepRunners: layer.keepRunners ?? DEFAULTS.keepRunners,
    parentHost: layer.parentHost ?? os.hostname(),
  });
}
