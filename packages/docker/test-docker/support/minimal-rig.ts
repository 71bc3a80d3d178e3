import { randomBytes } from 'node:crypto';
import { containers, docker, hostSocket, removeContainers } from './docker';
import { minimalImage, type TestImage } from './image';
import { ParentContainer, type AppEvent } from './parent-container';

/** The label on every parent container and network a rig makes, valued with its run id. */
export const RUN_LABEL = 'flame-node-test.run';

const MANAGED = 'label=flame-node.managed=true';

/**
 * What one docker test file needs to drive the minimal app: its image, an `--internal`
 * network, parent containers, and the names to find their runners by. Everything it makes
 * is removed after the file, whether its tests passed or not.
 *
 * Pool names are unique to the rig (MINIMAL_POOL), so its runners are told apart from those
 * of other files, of a developer's session, and of the other test apps on the same daemon.
 */
export class MinimalRig {
  readonly run: string;
  readonly network: string;
  readonly pool: string;
  readonly pools: readonly string[];
  readonly parents: ParentContainer[] = [];
  private readonly image: TestImage;
  private readonly socket = hostSocket();
  private count = 0;

  private constructor(tag: string) {
    this.run = `${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.network = `flame_test_${this.run}`;
    this.pool = `mt-${this.run}`;
    this.pools = [this.pool, `${this.pool}-memory`, `${this.pool}-broken`];
    this.image = minimalImage(`flame-test/minimal:${this.run}`);
  }

  /** Makes a rig for the current test file and registers its setup and cleanup. */
  static use(tag: string): MinimalRig {
    const rig = new MinimalRig(tag);
    beforeAll(() => {
      rig.image.prepare();
      docker('network', 'create', '--internal', '--label', `${RUN_LABEL}=${rig.run}`, rig.network);
    }, 120_000);
    afterAll(() => rig.cleanup(), 90_000);
    return rig;
  }

  get imageTag(): string {
    return this.image.tag;
  }

  /** The environment a parent gets: the backend's image and network, the rig's pool names. */
  parentEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      FLAME_COOKIE: randomBytes(24).toString('base64url'),
      FLAME_DOCKER_IMAGE: this.image.tag,
      FLAME_DOCKER_NETWORK: this.network,
      MINIMAL_POOL: this.pool,
      ...extra,
    };
  }

  /** Starts a parent running `cli.js <cli...>` and waits for `firstEvent`. */
  async startParent(
    env: Record<string, string> = {},
    cli: string[] = ['serve'],
    firstEvent = 'ready',
  ): Promise<ParentContainer> {
    this.count += 1;
    const parent = await ParentContainer.start(
      {
        name: `${this.pool}-parent-${this.count}`,
        image: this.image.tag,
        network: this.network,
        socket: this.socket,
        labels: { [RUN_LABEL]: this.run },
        env: this.parentEnv(env),
        cli,
      },
      firstEvent,
    );
    this.parents.push(parent);
    return parent;
  }

  /** Runner containers (short ids), running or not, of `parent` or of any of the rig's pools. */
  runners(parent?: ParentContainer): string[] {
    if (parent !== undefined) {
      return containers(MANAGED, `label=flame-node.parent-container=${parent.id}`);
    }
    return this.pools.flatMap((pool) => containers(MANAGED, `label=flame-node.pool=${pool}`));
  }

  /**
   * Closes the parents that still run (they stop their runners), then force-removes what
   * is left: parents, every runner of the rig's pools, the network, and the image if this
   * file built it.
   */
  async cleanup(): Promise<void> {
    await Promise.all(this.parents.map((parent) => parent.close(20_000)));
    removeContainers(containers(`label=${RUN_LABEL}=${this.run}`));
    removeContainers(this.runners());
    try {
      const networks = docker('network', 'ls', '-q', '--filter', `label=${RUN_LABEL}=${this.run}`);
      if (networks !== '') docker('network', 'rm', ...networks.split('\n'));
    } finally {
      this.image.dispose();
    }
  }
}

export type { AppEvent };
