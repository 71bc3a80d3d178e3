import { ConfigurationError } from './errors';

/** Name of the variable that tells a runner agent where its parent is. */
export const PARENT_ENV = 'FLAME_PARENT';
/** Name of the variable carrying the shared cookie. */
export const COOKIE_ENV = 'FLAME_COOKIE';

/** Everything a runner agent needs to find and serve its parent. */
export interface ParentDescriptor {
  /** Host name or address to dial. */
  host: string;
  port: number;
  runnerId: string;
  pool: string;
  /** Directory that task names resolve in, as seen by the runner. */
  taskRoot: string;
  /** Largest frame either side may send after the handshake. */
  maxFrame: number;
  /** How long the agent keeps trying to reach the parent before it gives up and exits. */
  connectTimeout: number;
  handshakeTimeout: number;
  /** Pino level for the agent's own log. */
  logLevel: string;
}

const FIELDS: Record<keyof ParentDescriptor, 'string' | 'number'> = {
  host: 'string',
  port: 'number',
  runnerId: 'string',
  pool: 'string',
  taskRoot: 'string',
  maxFrame: 'number',
  connectTimeout: 'number',
  handshakeTimeout: 'number',
  logLevel: 'string',
};

/** Encodes a descriptor as the value of `FLAME_PARENT` (base64url JSON: env-safe). */
export function encodeParent(descriptor: ParentDescriptor): string {
  return Buffer.from(JSON.stringify(descriptor)).toString('base64url');
}

/** Decodes `FLAME_PARENT`, or throws a `ConfigurationError` saying what is wrong. */
export function decodeParent(value: string | undefined): ParentDescriptor {
  if (!value) {
    throw new ConfigurationError(
      `${PARENT_ENV} is not set: a runner agent is started by a flame-node backend, not by hand`,
    );
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw new ConfigurationError(`${PARENT_ENV} is not valid base64url JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ConfigurationError(`${PARENT_ENV} must encode an object`);
  }

  const record = parsed as Record<string, unknown>;
  for (const [key, type] of Object.entries(FIELDS)) {
    if (typeof record[key] !== type) {
      throw new ConfigurationError(`${PARENT_ENV}.${key} must be a ${type}`);
    }
  }
  return record as unknown as ParentDescriptor;
}
