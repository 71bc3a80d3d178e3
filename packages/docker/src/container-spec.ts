import { RESERVED_LABEL_PREFIX, runnerLabels, type ParentIdentity } from './labels';
import type { ResolvedDockerOptions } from './layers';

/** The HostConfig fields the backend sets itself. */
const WIRING_HOST_CONFIG = ['NetworkMode', 'AutoRemove'] as const;

/** Variables only the pool may set (with whatever else it puts in the launch env). */
const WIRING_ENV = ['FLAME_PARENT', 'FLAME_COOKIE'] as const;

/** The runner-specific part of a create request. */
export interface SpecLaunch {
  readonly runnerId: string;
  readonly pool: string;
  readonly env: Readonly<Record<string, string>>;
}

/** A `POST /containers/create` request, plus what of the user's settings had to give way. */
export interface ContainerSpec {
  readonly name: string;
  readonly body: Record<string, unknown> & { HostConfig: Record<string, unknown> };
  /** Wiring fields the user tried to set, e.g. `env.FLAME_COOKIE`; the backend's value won. */
  readonly overridden: readonly string[];
}

/**
 * Builds the create request for one runner. The user owns everything but the wiring: the
 * container name and Hostname (the runner id), the network (NetworkMode and the endpoint),
 * AutoRemove, the launch env (FLAME_PARENT, FLAME_COOKIE, ...) and the flame-node labels.
 */
export function buildContainerSpec(
  options: ResolvedDockerOptions,
  launch: SpecLaunch,
  parent: ParentIdentity,
  cmd: readonly string[],
): ContainerSpec {
  const hostConfig: Record<string, unknown> = { ...options.hostConfig };
  const userMounts = Array.isArray(hostConfig.Mounts) ? hostConfig.Mounts : [];
  const mounts = [...userMounts, ...options.mounts];
  if (mounts.length > 0) hostConfig.Mounts = mounts;
  hostConfig.NetworkMode = options.network;
  hostConfig.AutoRemove = !options.keepRunners;

  const env: Record<string, string> = { ...options.env };
  for (const key of WIRING_ENV) delete env[key];
  Object.assign(env, launch.env);

  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.labels)) {
    if (!key.startsWith(RESERVED_LABEL_PREFIX)) labels[key] = value;
  }
  Object.assign(labels, runnerLabels(parent, launch.pool, launch.runnerId));

  const body = {
    Image: options.image,
    Cmd: [...cmd],
    Hostname: launch.runnerId,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: labels,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    Tty: false,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: { [options.network]: {} } },
  };
  return { name: launch.runnerId, body, overridden: overriddenFields(options, launch.env) };
}

/**
 * The wiring fields the user's options try to set, e.g. `env.FLAME_COOKIE`: the backend's
 * value wins over each of them. `launchEnv` is the pool's env for a runner, if known yet.
 */
export function overriddenFields(
  options: ResolvedDockerOptions,
  launchEnv: Readonly<Record<string, string>> = {},
): string[] {
  const fields: string[] = [];
  for (const field of WIRING_HOST_CONFIG) {
    if (field in options.hostConfig) fields.push(`hostConfig.${field}`);
  }
  for (const key of Object.keys(options.env)) {
    const wiring = (WIRING_ENV as readonly string[]).includes(key) || key in launchEnv;
    if (wiring && options.env[key] !== launchEnv[key]) fields.push(`env.${key}`);
  }
  for (const key of Object.keys(options.labels)) {
    if (key.startsWith(RESERVED_LABEL_PREFIX)) fields.push(`labels.${key}`);
  }
  return fields;
}
