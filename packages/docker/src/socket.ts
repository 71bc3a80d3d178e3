import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError } from '@flame-node/core';
import { DockerUnavailableError } from './errors';

/** Where the Docker Engine API is, and which setting chose it. */
export type DockerEndpoint =
  | { readonly kind: 'unix'; readonly path: string; readonly source: string }
  | { readonly kind: 'npipe'; readonly path: string; readonly source: string }
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      /** Directory holding ca.pem, cert.pem and key.pem; absent for plain HTTP. */
      readonly tlsCertDir?: string;
      readonly source: string;
    };

/** What the resolver may look at; tests pass their own. */
export interface SocketProbe {
  readonly env: NodeJS.ProcessEnv;
  readonly homedir: string;
  readonly platform: NodeJS.Platform;
  exists(file: string): boolean;
}

export const WSL2_SOCKET = '/mnt/wsl/shared-docker/docker.sock';
export const LINUX_SOCKET = '/var/run/docker.sock';

const HOST_HELP =
  'use unix:///path/to/docker.sock or tcp://host:2375 (tcp://host:2376 with DOCKER_TLS_VERIFY=1)';

export function defaultProbe(): SocketProbe {
  return {
    env: process.env,
    homedir: os.homedir(),
    platform: process.platform,
    exists: (file) => fs.existsSync(file),
  };
}

/** The platform sockets, in the order they are tried when neither option nor env names one. */
export function platformSockets(homedir: string): { path: string; source: string }[] {
  return [
    { path: WSL2_SOCKET, source: 'WSL2 shared socket' },
    { path: path.join(homedir, '.docker', 'run', 'docker.sock'), source: 'Docker Desktop socket' },
    { path: LINUX_SOCKET, source: 'default socket' },
  ];
}

/**
 * Picks the Docker endpoint: `options.socketPath`, then `DOCKER_HOST`, then the first platform
 * socket that exists (WSL2, Docker Desktop on macOS, /var/run/docker.sock). When none exists
 * the last one is returned, so the connection error names the usual path.
 */
export function resolveEndpoint(
  socketPath: string | undefined,
  probe: SocketProbe = defaultProbe(),
): DockerEndpoint {
  if (socketPath !== undefined) {
    return { kind: 'unix', path: socketPath, source: 'options.socketPath' };
  }

  const dockerHost = probe.env.DOCKER_HOST?.trim();
  if (dockerHost) return parseDockerHost(dockerHost, probe);

  if (probe.platform === 'win32') {
    return { kind: 'npipe', path: '//./pipe/docker_engine', source: 'default named pipe' };
  }

  const candidates = platformSockets(probe.homedir);
  const found = candidates.find((candidate) => probe.exists(candidate.path));
  const chosen = found ?? candidates[candidates.length - 1];
  return { kind: 'unix', path: chosen.path, source: chosen.source };
}

/** Parses `DOCKER_HOST`; anything that is not a usable address is a `ConfigurationError`. */
export function parseDockerHost(value: string, probe: SocketProbe): DockerEndpoint {
  const source = 'DOCKER_HOST';
  const bad = (why: string): ConfigurationError =>
    new ConfigurationError(`DOCKER_HOST=${JSON.stringify(value)} ${why}: ${HOST_HELP}`);

  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(value);
  if (!match) throw bad('is not a Docker host address');

  const scheme = match[1].toLowerCase();
  const rest = match[2];
  switch (scheme) {
    case 'unix':
      if (!rest.startsWith('/')) throw bad('needs an absolute socket path after unix://');
      return { kind: 'unix', path: rest, source };
    case 'npipe':
      if (probe.platform !== 'win32') throw bad('names a Windows named pipe on a non-Windows host');
      return { kind: 'npipe', path: rest || '//./pipe/docker_engine', source };
    case 'tcp':
    case 'http':
    case 'https':
      return parseTcpHost(scheme, rest, probe, bad);
    case 'ssh':
      throw bad(
        'uses ssh://, which flame-node does not support; forward the remote socket ' +
          '(ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock host) and point DOCKER_HOST at it',
      );
    default:
      throw bad(`has an unsupported scheme ${scheme}://`);
  }
}

function parseTcpHost(
  scheme: string,
  rest: string,
  probe: SocketProbe,
  bad: (why: string) => ConfigurationError,
): DockerEndpoint {
  // WHATWG URL parsing already refuses ports that are not numbers or exceed 65535.
  let url: URL;
  try {
    url = new URL(`tcp://${rest}`);
  } catch {
    throw bad('is not a valid host:port address');
  }

  if (!url.hostname) throw bad('has no host name');
  if (url.username || url.password || url.search || url.hash) {
    throw bad('must not carry credentials, a query or a fragment');
  }
  if (url.pathname !== '' && url.pathname !== '/') throw bad('must not carry a path');

  const tlsVerify = probe.env.DOCKER_TLS_VERIFY;
  const tls = scheme === 'https' || (tlsVerify !== undefined && !['', '0'].includes(tlsVerify));
  const port = url.port === '' ? (tls ? 2376 : 2375) : Number(url.port);
  if (port < 1) throw bad(`has an invalid port ${port}`);

  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!tls) return { kind: 'tcp', host, port, source: 'DOCKER_HOST' };

  const tlsCertDir = probe.env.DOCKER_CERT_PATH || path.join(probe.homedir, '.docker');
  return { kind: 'tcp', host, port, tlsCertDir, source: 'DOCKER_HOST' };
}

/** `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2375`: for messages and logs. */
export function describeEndpoint(endpoint: DockerEndpoint): string {
  switch (endpoint.kind) {
    case 'unix':
      return `unix://${endpoint.path}`;
    case 'npipe':
      return `npipe://${endpoint.path}`;
    case 'tcp': {
      const scheme = endpoint.tlsCertDir ? 'https' : 'tcp';
      const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
      return `${scheme}://${host}:${endpoint.port}`;
    }
  }
}

const MOUNT_HELP =
  'If this process runs in a container, mount the host socket with ' +
  '-v <host-socket>:/var/run/docker.sock (Linux: /var/run/docker.sock, WSL2: ' +
  `${WSL2_SOCKET}, Docker Desktop on macOS: ~/.docker/run/docker.sock); ` +
  'otherwise set DOCKER_HOST (unix:///path/to/docker.sock or tcp://host:2375) ' +
  'or options.socketPath.';

/**
 * Turns a failure to reach the daemon into an error that says what was tried and how to fix
 * it. `timeoutMs` is set when the daemon accepted the connection but did not answer in time.
 */
export function explainConnectError(
  endpoint: DockerEndpoint,
  error: unknown,
  timeoutMs?: number,
): DockerUnavailableError {
  const where = describeEndpoint(endpoint);
  const fail = (message: string): DockerUnavailableError =>
    new DockerUnavailableError(where, endpoint.source, message, error);

  if (timeoutMs !== undefined) {
    return fail(
      `the Docker daemon at ${where} (${endpoint.source}) did not answer within ${timeoutMs} ms: ` +
        'check that it is running and healthy (docker info), and that this is its socket',
    );
  }

  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  if (endpoint.kind === 'unix' && code === 'ENOENT') {
    const tried =
      endpoint.source === 'default socket'
        ? ` (also looked for ${WSL2_SOCKET} and ~/.docker/run/docker.sock)`
        : ` (from ${endpoint.source})`;
    return fail(`no Docker socket at ${endpoint.path}${tried}. ${MOUNT_HELP}`);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return fail(
      `permission denied on ${where} (${endpoint.source}): run as a user in the socket's group ` +
        '(usually "docker"; in a container add --group-add <gid of the socket>), ' +
        'or fix the permissions of the socket',
    );
  }
  if (endpoint.kind === 'unix' && isDirectory(endpoint.path)) {
    return fail(
      `${endpoint.path} is a directory, not a socket: "docker run -v" creates an empty directory ` +
        `when the host path does not exist. ${MOUNT_HELP}`,
    );
  }
  if (code === 'ECONNREFUSED') {
    return fail(
      `nothing answers at ${where} (${endpoint.source}): is the Docker daemon running? ` +
        'Point DOCKER_HOST or options.socketPath at the right socket if it lives elsewhere.',
    );
  }
  return fail(`cannot reach the Docker daemon at ${where} (${endpoint.source}): ${detail}`);
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}
