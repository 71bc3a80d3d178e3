import { inspect } from 'node:util';

/** When to pull the runner image. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** An entry of `HostConfig.Mounts`, with Engine API field names. */
export interface DockerMount {
  /** Path inside the runner container. */
  readonly Target: string;
  /** Host path (bind) or volume name (volume). */
  readonly Source?: string;
  /** `bind`, `volume`, `tmpfs`, ... (the Engine's default is `volume`). */
  readonly Type?: string;
  readonly ReadOnly?: boolean;
  readonly [field: string]: unknown;
}

/** Environment for runners: `{ KEY: 'value' }` or `['KEY=value']`. */
export type DockerEnvInput =
  Readonly<Record<string, string | number | boolean>> | readonly string[];

/**
 * Options of the Docker backend. Container settings use Docker Engine API field names.
 * They come in three layers, each overriding the one before: application defaults
 * (`FLAME_DOCKER_*` environment variables, then `DockerBackend.configure()`), the options of
 * one backend (`new DockerBackend(options)`), and per-runner overrides
 * (`backend.withOptions(overrides)`). `hostConfig`, `env` and `labels` merge key by key across
 * layers; every other option (arrays included) replaces what the layer before set.
 */
export interface DockerBackendOptions {
  /** Image of the runners, normally the parent's own image. Required. Env: `FLAME_DOCKER_IMAGE`. */
  readonly image?: string;
  /**
   * User-defined network the runners join; the parent must be on it too, so runners can reach
   * it by name. Must exist. Required. Env: `FLAME_DOCKER_NETWORK`.
   */
  readonly network?: string;
  /**
   * Merged into the container's `HostConfig` (`Memory`, `NanoCpus`, `Ulimits`, ...).
   * `NetworkMode` and `AutoRemove` belong to the backend and are ignored here.
   * Env: `FLAME_DOCKER_HOST_CONFIG` (JSON).
   */
  readonly hostConfig?: Readonly<Record<string, unknown>>;
  /** Appended to `HostConfig.Mounts` (where the Engine honours them). Default: none. */
  readonly mounts?: readonly DockerMount[];
  /**
   * The runner's command. Default: `["node", <this process's path to @flame-node/core/runner>]`,
   * which works because runners use the same image, hence the same paths.
   */
  readonly cmd?: readonly string[];
  /** Extra environment. `FLAME_PARENT`, `FLAME_COOKIE` and the pool's wiring always win. */
  readonly env?: DockerEnvInput;
  /** Extra labels. Keys starting with `flame-node.` belong to the backend. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Docker socket; overrides `DOCKER_HOST` and the platform defaults. */
  readonly socketPath?: string;
  /**
   * `missing` (default): pull when the image is not on the daemon; `always`: pull once per
   * image and process before the first runner; `never`: fail when it is missing (a misspelt
   * image name is then never looked up in a registry). Env: `FLAME_DOCKER_PULL`.
   */
  readonly pull?: PullPolicy;
  /** Debugging: never remove runner containers, so they can be inspected. Default `false`. */
  readonly keepRunners?: boolean;
  /** Address runners dial to reach the parent. Default: `os.hostname()` of this container. */
  readonly parentHost?: string;
}

/** One validated layer of options, with `env` as an object. */
export interface OptionLayer {
  image?: string;
  network?: string;
  hostConfig?: Record<string, unknown>;
  mounts?: DockerMount[];
  cmd?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  socketPath?: string;
  pull?: PullPolicy;
  keepRunners?: boolean;
  parentHost?: string;
}

type Checker = (value: unknown, name: string) => unknown;

const PULL_POLICIES: readonly PullPolicy[] = ['missing', 'always', 'never'];
const ENGINE_FIELD = /^[A-Z][A-Za-z0-9]*$/;
const ENV_NAME = /^[^=\s]+$/;

const CHECKERS: Readonly<Record<keyof DockerBackendOptions, Checker>> = {
  image: (value, name) => nonEmptyWord(value, name),
  network: (value, name) => nonEmptyWord(value, name),
  hostConfig: (value, name) => hostConfig(value, name),
  mounts: (value, name) => mounts(value, name),
  cmd: (value, name) => command(value, name),
  env: (value, name) => environment(value, name),
  labels: (value, name) => labels(value, name),
  socketPath: (value, name) => nonEmptyString(value, name),
  pull: (value, name) => {
    if (typeof value === 'string' && (PULL_POLICIES as string[]).includes(value)) return value;
    throw invalid(name, 'must be one of "missing", "always", "never"', value);
  },
  keepRunners: (value, name) => {
    if (typeof value === 'boolean') return value;
    throw invalid(name, 'must be a boolean', value);
  },
  parentHost: (value, name) => nonEmptyWord(value, name),
};

/** The names of every option, for messages and for `withOptions`. */
export const OPTION_NAMES = Object.keys(CHECKERS) as (keyof DockerBackendOptions)[];

/**
 * Validates user options and returns them as a layer. Unknown keys and wrong types throw a
 * `TypeError` naming the option, the rule and the value. `undefined` values count as unset.
 * `context` prefixes the messages, e.g. `DockerBackend.configure()`.
 */
export function validateOptions(input: unknown, context?: string): OptionLayer {
  const prefix = context ? `${context}: ` : '';
  if (input === undefined) return {};
  if (!isPlainObject(input)) {
    throw new TypeError(`${prefix}options must be an object; got ${show(input)}`);
  }

  const layer: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const check = (CHECKERS as Record<string, Checker | undefined>)[key];
    if (!check || !Object.prototype.hasOwnProperty.call(CHECKERS, key)) {
      throw new TypeError(
        `${prefix}options.${key} is not a Docker backend option ` +
          `(known: ${OPTION_NAMES.join(', ')})`,
      );
    }
    if (value === undefined) continue;
    try {
      layer[key] = check(value, `options.${key}`);
    } catch (error) {
      if (error instanceof TypeError && prefix) error.message = prefix + error.message;
      throw error;
    }
  }
  return layer as OptionLayer;
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  throw invalid(name, 'must be a non-empty string', value);
}

function nonEmptyWord(value: unknown, name: string): string {
  if (typeof value === 'string' && value !== '' && !/\s/.test(value)) return value;
  throw invalid(name, 'must be a non-empty string without spaces', value);
}

function hostConfig(value: unknown, name: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(name, 'must be an object of HostConfig fields', value);
  for (const key of Object.keys(value)) {
    if (!ENGINE_FIELD.test(key)) {
      throw invalid(
        `${name}.${key}`,
        'is not an Engine API HostConfig field (they are PascalCase, e.g. Memory, NanoCpus)',
        value[key],
      );
    }
  }
  if (value.Mounts !== undefined) mounts(value.Mounts, `${name}.Mounts`);
  return { ...value };
}

function mounts(value: unknown, name: string): DockerMount[] {
  if (!Array.isArray(value)) throw invalid(name, 'must be an array of mount objects', value);
  return value.map((mount: unknown, index) => {
    const where = `${name}[${index}]`;
    if (!isPlainObject(mount)) throw invalid(where, 'must be a mount object', mount);
    const lowercase = Object.keys(mount).find((key) => !ENGINE_FIELD.test(key));
    if (lowercase !== undefined) {
      throw invalid(
        `${where}.${lowercase}`,
        'is not an Engine API mount field (use Type, Source, Target, ReadOnly, ...)',
        mount[lowercase],
      );
    }
    if (typeof mount.Target !== 'string' || mount.Target === '') {
      const rule = 'must be a non-empty string (the path in the runner)';
      throw invalid(`${where}.Target`, rule, mount.Target);
    }
    return { ...mount } as DockerMount;
  });
}

function command(value: unknown, name: string): string[] {
  const ok =
    Array.isArray(value) && value.length > 0 && value.every((part) => typeof part === 'string');
  if (!ok || value[0] === '') throw invalid(name, 'must be a non-empty array of strings', value);
  return [...value] as string[];
}

function environment(value: unknown, name: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(value)) {
    value.forEach((entry: unknown, index) => {
      const eq = typeof entry === 'string' ? entry.indexOf('=') : -1;
      if (typeof entry !== 'string' || eq <= 0 || !ENV_NAME.test(entry.slice(0, eq))) {
        throw invalid(`${name}[${index}]`, 'must be a "KEY=value" string', entry);
      }
      env[entry.slice(0, eq)] = entry.slice(eq + 1);
    });
    return env;
  }

  if (!isPlainObject(value)) {
    throw invalid(name, 'must be an object or an array of "KEY=value"', value);
  }
  for (const [key, entry] of Object.entries(value)) {
    if (!ENV_NAME.test(key)) throw invalid(`${name}`, 'keys must be variable names', key);
    const type = typeof entry;
    if (type !== 'string' && type !== 'boolean' && !(type === 'number' && Number.isFinite(entry))) {
      throw invalid(`${name}.${key}`, 'must be a string, a finite number or a boolean', entry);
    }
    env[key] = String(entry);
  }
  return env;
}

function labels(value: unknown, name: string): Record<string, string> {
  if (!isPlainObject(value)) throw invalid(name, 'must be an object of string labels', value);
  for (const [key, entry] of Object.entries(value)) {
    if (key === '') throw invalid(name, 'keys must be non-empty', key);
    if (typeof entry !== 'string') throw invalid(`${name}.${key}`, 'must be a string', entry);
  }
  return { ...(value as Record<string, string>) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function invalid(name: string, rule: string, value: unknown): TypeError {
  return new TypeError(`${name} ${rule}; got ${show(value)}`);
}

/** A short, one-line rendering of a value for error messages. */
export function show(value: unknown): string {
  const text = inspect(value, { depth: 2, breakLength: Infinity, maxArrayLength: 5 });
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
