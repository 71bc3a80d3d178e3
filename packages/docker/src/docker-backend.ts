import type { Backend, BackendContext, RunnerInstance, RunnerLaunch } from '@flame-node/core';
import { BootError, ConfigurationError } from '@flame-node/core';
import { raceAbort } from './abort';
import { bootRunner, missingNetworkError } from './boot';
import { bootQueue } from './boot-queue';
import { buildContainerSpec, overriddenFields } from './container-spec';
import { PING_TIMEOUT_MS } from './engine';
import { engineStatus } from './errors';
import {
  environmentLayer,
  mergeLayers,
  resolveOptions,
  type ResolvedDockerOptions,
} from './layers';
import { validateOptions, type DockerBackendOptions, type OptionLayer } from './options';
import { checkReachable } from './parent-reach';
import { parentIdentity } from './parent-identity';
import { DockerSession } from './session';
import { describeEndpoint, resolveEndpoint } from './socket';
import { sweepOrphans } from './sweeper';

type Logger = RunnerLaunch['logger'];

/** Set by `DockerBackend.configure()`. */
let configured: OptionLayer = {};

/** What a backend and the backends derived from it with `withOptions` share. */
interface Lineage {
  /** Environment and `configure()` defaults, as they were when the root backend was made. */
  readonly appLayer: OptionLayer;
  readonly poolLayer: OptionLayer;
  /** Wiring fields we already warned about. */
  readonly warned: Set<string>;
}

interface BackendState {
  readonly lineage: Lineage;
  readonly runnerLayer: OptionLayer;
  readonly options: ResolvedDockerOptions;
  readonly session: DockerSession;
}

let defaultCommand: string[] | undefined;

/**
 * One session per daemon for the whole process, so every pool shares one ping, one look at
 * this process's own container, one image check (and pull), one orphan sweep per parent.
 */
const sessions = new Map<string, DockerSession>();

/**
 * Runs runners as sibling containers through the Docker Engine API: same image as the parent,
 * on a user-defined network the parent is attached to, with the Docker socket mounted into the
 * parent. Runners dial back to the parent, so the backend only creates, watches and removes
 * containers.
 *
 * Options come in three layers, each overriding the one before: application defaults
 * (`FLAME_DOCKER_IMAGE`, `FLAME_DOCKER_NETWORK`, `FLAME_DOCKER_HOST_CONFIG`, then
 * `DockerBackend.configure()`), the options given to the constructor (one pool's backend), and
 * `withOptions()` overrides (a backend for particular runners). Bad options throw when the
 * backend is made: a `TypeError` for a wrong type or unknown key, a `ConfigurationError` for a
 * missing image or network. The daemon, the network and the image are checked by `init()`.
 *
 * @example
 * const pool = new Pool({
 *   name: 'thumbs',
 *   backend: new DockerBackend({ image: 'my-app:1.4', network: 'my_net' }),
 * });
 */
export class DockerBackend implements Backend {
  private readonly state!: BackendState;

  /**
   * Sets the application defaults for backends made from now on (a later call replaces the
   * earlier one; no argument clears them). They override the `FLAME_DOCKER_*` variables.
   */
  static configure(defaults?: DockerBackendOptions): void {
    configured = validateOptions(defaults, 'DockerBackend.configure()');
  }

  /**
   * @throws TypeError for an unknown option or a value of the wrong type.
   * @throws ConfigurationError when no image or network is set in any layer, when a
   *   `FLAME_DOCKER_*` variable is unusable, or when `DOCKER_HOST` is not an address.
   */
  constructor(options?: DockerBackendOptions) {
    const lineage: Lineage = {
      appLayer: mergeLayers([environmentLayer(), configured]),
      poolLayer: validateOptions(options),
      warned: new Set(),
    };
    this.state = makeState(lineage, {});
  }

  /** `docker`. */
  get kind(): string {
    return 'docker';
  }

  /** The effective options of this backend, every layer applied. */
  get options(): ResolvedDockerOptions {
    return this.state.options;
  }

  /**
   * A backend like this one with `overrides` on top (the per-runner layer): give it to a pool,
   * or to whatever starts the runners that need, say, more memory. It shares this backend's
   * connection, image checks and warnings. Called on a derived backend, it stacks the new
   * overrides on the earlier ones with the same merge rules as the layers.
   */
  withOptions(overrides: DockerBackendOptions): DockerBackend {
    const added = validateOptions(overrides, 'withOptions()');
    const layer = mergeLayers([this.state.runnerLayer, added]);
    const derived = Object.create(DockerBackend.prototype) as DockerBackend;
    (derived as unknown as { state: BackendState }).state = makeState(this.state.lineage, layer);
    return derived;
  }

  /** Runners reach the parent over the container network, so listen on every interface. */
  listenHost(): string {
    return '0.0.0.0';
  }

  /** `options.parentHost`, by default this container's host name. */
  parentHost(): string {
    return this.state.options.parentHost;
  }

  /**
   * Checks the daemon (a short ping), the network and the image (pulling it if the policy
   * says so), then removes the runners of dead parents.
   * @throws ConfigurationError (or its subclass DockerUnavailableError) naming what is wrong.
   */
  async init(context: BackendContext): Promise<void> {
    const { options, session } = this.state;
    const logger = context.logger;
    this.warnOverridden(logger);

    // Fail before the boot that waits for this does, so the caller learns which daemon did
    // not answer, and no ping to a dead daemon outlives it to fail the next call too.
    const pingMs = Math.min(PING_TIMEOUT_MS, Math.max(100, (context.timeoutMs ?? Infinity) - 250));
    await session.ready(undefined, undefined, pingMs);
    const networkName = await checkNetwork(session, options.network);
    await session.images.ensure(options.image, options.pull, logger);
    const own = await session.ownContainer();
    checkReachable(options.parentHost, networkName, own, logger);

    await session.once(`sweep ${context.parentId}`, async () => {
      try {
        await sweepOrphans(session.client, parentIdentity(context.parentId, own), logger);
      } catch (error) {
        logger.warn({ err: error }, 'orphan sweep failed; continuing');
      }
    });
  }

  /**
   * Creates and starts one runner container. Rejects with a `BootError` when the container
   * cannot be created or started or `launch.signal` aborts, and with a `ConfigurationError`
   * when the setup cannot work (no daemon, no image, no network, settings the daemon refuses).
   */
  async start(launch: RunnerLaunch): Promise<RunnerInstance> {
    const { options, session } = this.state;
    const aborted = (): BootError =>
      new BootError(launch.runnerId, 'boot aborted', { cause: launch.signal.reason });
    if (launch.signal.aborted) throw aborted();

    await session.ready(launch.signal, aborted);
    const image = session.images.ensure(options.image, options.pull, launch.logger);
    await raceAbort(image, launch.signal, aborted);
    const own = await raceAbort(session.ownContainer(), launch.signal, aborted);

    const cmd = options.cmd ?? runnerCommand();
    const spec = buildContainerSpec(options, launch, parentIdentity(launch.parentId, own), cmd);
    this.warnOverridden(launch.logger, spec.overridden);

    const queue = bootQueue(session.client.address);
    const context = { client: session.client, queue, keepRunners: options.keepRunners };
    return bootRunner(context, spec, launch);
  }

  /** Warns once per lineage about each wiring field a user tried to set. */
  private warnOverridden(logger: Logger, fields?: readonly string[]): void {
    const { lineage, options } = this.state;
    for (const field of fields ?? overriddenFields(options)) {
      if (lineage.warned.has(field)) continue;
      lineage.warned.add(field);
      logger.warn({ field }, 'ignoring a wiring field set in the options: the backend sets it');
    }
  }
}

function makeState(lineage: Lineage, runnerLayer: OptionLayer): BackendState {
  const options = resolveOptions(mergeLayers([lineage.appLayer, lineage.poolLayer, runnerLayer]));
  const endpoint = resolveEndpoint(options.socketPath);
  const address = describeEndpoint(endpoint);

  let session = sessions.get(address);
  if (!session) {
    session = new DockerSession(endpoint);
    sessions.set(address, session);
  }
  return { lineage, runnerLayer, options, session };
}

/** Resolves with the network's name (the option may give its id). */
async function checkNetwork(session: DockerSession, network: string): Promise<string> {
  try {
    const info = await session.client.json<{ Name?: string }>({
      method: 'GET',
      path: `/networks/${encodeURIComponent(network)}`,
    });
    return info?.Name ?? network;
  } catch (error) {
    if (engineStatus(error) === 404) {
      throw missingNetworkError(network, session.client.address, error);
    }
    throw error;
  }
}

/**
 * `node <path of @flame-node/core's runner agent>` as this process resolves it: the runner
 * uses the same image, so the same path exists there.
 */
function runnerCommand(): string[] {
  if (!defaultCommand) {
    try {
      defaultCommand = ['node', require.resolve('@flame-node/core/runner')];
    } catch (error) {
      throw new ConfigurationError(
        'cannot find @flame-node/core/runner from this process (is @flame-node/core built and ' +
          'installed?); set options.cmd to the command that starts the runner agent in the image',
        { cause: error },
      );
    }
  }
  return defaultCommand;
}
