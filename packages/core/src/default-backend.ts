import type { Backend } from './backend';

let configured: Backend | undefined;

/**
 * Sets the backend pools use when their options name none (for instance a `DockerBackend`
 * in production, while tests keep the local one). `undefined` restores the local default.
 */
export function setDefaultBackend(backend: Backend | undefined): void {
  configured = backend;
}

/** The backend set with `setDefaultBackend`, if any. */
export function getDefaultBackend(): Backend | undefined {
  return configured;
}
