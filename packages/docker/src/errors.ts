import { ConfigurationError, FlameError } from '@flame-node/core';

/**
 * The Docker daemon cannot be reached: no socket, no permission, nothing listening, or a
 * daemon that does not answer. `endpoint` names what was tried (`unix:///var/run/docker.sock`,
 * `tcp://10.0.0.5:2375`) and `source` where that choice came from (`DOCKER_HOST`, ...).
 * It is a `ConfigurationError` (code `FLAME_ERR_CONFIG`): retrying the same setup will not help.
 */
export class DockerUnavailableError extends ConfigurationError {
  readonly endpoint: string;
  readonly source: string;

  constructor(endpoint: string, source: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.endpoint = endpoint;
    this.source = source;
  }
}

/**
 * The Docker Engine API answered a request with an error status, or the request failed on the
 * way. `status` is the HTTP status (0 when there was no answer) and `engineMessage` the
 * daemon's own explanation. Code `FLAME_ERR_DOCKER_ENGINE`.
 */
export class DockerEngineError extends FlameError {
  readonly status: number;
  readonly engineMessage: string;
  readonly method: string;
  readonly path: string;

  constructor(
    method: string,
    path: string,
    status: number,
    engineMessage: string,
    cause?: unknown,
  ) {
    const shown = status > 0 ? `HTTP ${status}` : 'no answer';
    super(
      'FLAME_ERR_DOCKER_ENGINE',
      `Docker Engine API ${method} ${path.split('?')[0]} failed (${shown}): ${engineMessage}`,
      { cause },
    );
    this.status = status;
    this.engineMessage = engineMessage;
    this.method = method;
    this.path = path;
  }
}

/** The HTTP status of an Engine API failure, or 0 when it is not one (or had no answer). */
export function engineStatus(error: unknown): number {
  return error instanceof DockerEngineError ? error.status : 0;
}
