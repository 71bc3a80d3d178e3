export * from './errors';
export type { Backend, BackendContext, RunnerInstance, RunnerLaunch } from './backend';
