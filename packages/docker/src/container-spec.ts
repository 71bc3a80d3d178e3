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
  const overridden: string[] = [];

  const hostConfig: Record<string, unknown> = { ...options.hostConfig };
  for (const field of WIRING_HOST_CONFIG) {
    if (field in hostConfig) overridden.push(`hostConfig.${field}`);
  }
  const userMounts = Array.isArray(hostConfig.Mounts) ? hostConfig.Mounts : [];
  const mounts = [...userMounts, ...options.mounts];
  if (mounts.length > 0) hostConfig.Mounts = mounts;
  hostConfig.NetworkMode = options.network;
  hostConfig.AutoRemove = !options.keepRunners;

  const env: Record<string, string> = { ...options.env };
  for (const key of WIRING_ENV) {
    if (key in env && env[key] !== launch.env[key]) overridden.push(`env.${key}`);
    delete env[key];
  }
  for (const [key, value] of Object.entries(launch.env)) {
    if (key in env && env[key] !== value) overridden.push(`env.${key}`);
    env[key] = value;
  }

  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.labels)) {
    if (key.startsWith(RESERVED_LABEL_PREFIX)) overridden.push(`labels.${key}`);
    else labels[key] = value;
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
  return { name: launch.runnerId, body, overridden };
}
