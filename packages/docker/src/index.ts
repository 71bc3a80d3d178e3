export { DockerBackend } from './docker-backend';
export { DockerEngineError, DockerUnavailableError } from './errors';
export { LABEL } from './labels';
export type { ResolvedDockerOptions } from './layers';
export type { DockerBackendOptions, DockerEnvInput, DockerMount, PullPolicy } from './options';
