import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BootError, ConfigurationError, Pool } from '@flame-node/core';
import { DockerBackend, DockerUnavailableError } from '@flame-node/docker';
import { FakeEngine } from '../test/fake-engine';
import {
  containers,
  docker,
  inspect,
  listContainers,
  removeContainers,
  waitFor,
} from './support/docker';
import {
  containerLogLines,
  containerState,
  logRecords,
  SilentDaemon,
  type LogRecord,
} from './support/fault-tools';
import { MinimalRig } from './support/minimal-rig';
import type { ParentContainer, Reply } from './support/parent-container';
import type { Report, Stats } from './support/app-shapes';

// Faults around the Docker backend that a user meets in production: a daemon that hangs,
// DOCKER_HOST pointing elsewhere, parents sharing a daemon and dying, runners ending in every
// way with keepRunners, and idle reaping over and over. Runs with `npm run test:docker`.


const rig = MinimalRig.use('faults');
const figures: Record<string, string> = {};

jest.setTimeout(60_000);

afterAll(() => {
  const width = Math.max(0, ...Object.keys(figures).map((key) => key.length));
  const table = Object.entries(figures).map(([key, value]) => `  ${key.padEnd(width)}  ${value}`);
  if (table.length > 0) console.log(`Docker fault figures (minimal app):\n${table.join('\n')}`);
});

function failed<T>(reply: Reply<T>) {
  if (reply.ok) throw new Error(`expected a failure; got ${JSON.stringify(reply.value)}`);
  return reply.error;
}

function succeeded<T>(reply: Reply<T>, parent: ParentContainer): T {
  if (!reply.ok) throw new Error(`call failed: ${reply.error.message}\n${parent.tail()}`);
  return reply.value;
}

async function stats(parent: ParentContainer): Promise<Stats> {
  return succeeded(await parent.request<Stats>({ op: 'stats' }), parent);
}

describe('a Docker API that accepts connections and never answers', () => {
  const BOOT_TIMEOUT = 3_000;
  const SOCKET_DIR = '/tmp/flame-fault';
  let parent: ParentContainer;
  let daemon: SilentDaemon;

  beforeAll(async () => {
    // socketPath is a symlink inside the parent container; the real socket is mounted at
    // /var/run/docker.sock there as usual, and must not be used while socketPath says so.
    parent = await rig.startParent({
      MINIMAL_DOCKER_SOCKET: `${SOCKET_DIR}/docker.sock`,
      MINIMAL_BOOT_TIMEOUT_MS: String(BOOT_TIMEOUT),
    });
    daemon = await SilentDaemon.start(parent.name, SOCKET_DIR);
  });

  afterAll(async () => {
    daemon?.stop();
    await parent?.close();
  });

  it('fails the call within bootTimeout with an error that names the socket', async () => {
    const reply = await parent.call('tasks/work#ping', [], { timeout: 20_000 });
    const error = failed(reply);

    expect(['BootError', 'ConfigurationError', 'DockerUnavailableError']).toContain(error.name);
    expect(error.message).toContain(daemon.socketPath);
    expect(reply.ms).toBeLessThan(BOOT_TIMEOUT + 1_000);
    expect(daemon.connections).toBeGreaterThan(0);
    figures['call against a silent daemon fails after'] = `${reply.ms} ms (${error.name})`;
  });

  it('leaves the pool empty and nothing on the real daemon', async () => {
    expect(await stats(parent)).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
    expect(containers(`label=flame-node.pool=${rig.pool}`)).toEqual([]);
  });

  it('serves the next call on the same pool once the socket leads to the real daemon', async () => {
    daemon.repoint('/var/run/docker.sock');
    const reply = await parent.call<Report>('tasks/work#ping', [], { timeout: 30_000 });
    const value = succeeded(reply, parent);

    expect(value.hostname).toBe(value.runnerId);
    expect(value.runnerId).toMatch(new RegExp(`^flame-${rig.pool}-`));
    figures['first call after the socket is fixed'] = `${reply.ms} ms`;
  });

  it('works on for good: calls run on the real daemon, labelled with the parent', async () => {
    // Should the call right after the fix have failed, a later one must not.
    const value = await waitFor(
      'a call to succeed on the real daemon',
      async () => {
        const reply = await parent.call<Report>('tasks/work#ping', [], { timeout: 30_000 });
        return reply.ok ? reply.value : undefined;
      },
      30_000,
      500,
    );
    const container = docker('inspect', '--format', '{{.Id}}', value.runnerId).slice(0, 12);
    expect(rig.runners(parent)).toContain(container);
  });
});

// The same DockerBackend a user makes, listening on loopback only: the fake daemons below
// never start anything that could dial back, so nothing needs to reach this process.
class LoopbackDockerBackend extends DockerBackend {
  override listenHost(): string {
    return '127.0.0.1';
  }
}

describe('DOCKER_HOST, as a pool in this process sees it', () => {
  const saved = process.env.DOCKER_HOST;
  let fake: FakeEngine | undefined;
  let pool: Pool | undefined;

  afterEach(async () => {
    await pool?.terminate();
    // Let the backend finish stopping what it "ran" there before the fake goes away.
    const engine = fake;
    await waitFor('the fake runners to go', () => !engine?.containers.size || undefined, 10_000)
      .catch(() => undefined);
    await fake?.close();
    pool = fake = undefined;
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });

  function dockerHostPool(dockerHost: string, name: string): Pool {
    process.env.DOCKER_HOST = dockerHost;
    const backend = new LoopbackDockerBackend({ image: 'app', network: 'flame-net' });
    return new Pool({ name, backend, bootTimeout: 1_000, logger: false });
  }

  it.each(['tcp', 'unix'] as const)(
    'sends every Engine API request of a %s:// DOCKER_HOST there, none to the local daemon',
    async (kind) => {
      fake = kind === 'tcp' ? await FakeEngine.tcp() : await FakeEngine.unix();
      const name = `${rig.pool}-host-${kind}`;
      pool = dockerHostPool(
        kind === 'tcp' ? `tcp://127.0.0.1:${fake.port}` : `unix://${fake.socketPath}`,
        name,
      );

      // The fake "starts" the container, but nothing in it dials back: a BootError at
      // bootTimeout, after the whole create, attach, wait, start sequence went to the fake.
      await expect(pool.call('tasks/work#ping')).rejects.toBeInstanceOf(BootError);
      const seen = fake.calls();
      expect(seen).toEqual(expect.arrayContaining(['GET /_ping', 'POST /containers/create']));
      const created = fake.requests.find((request) => request.path === '/containers/create');
      expect(created?.body).toMatchObject({ Labels: { 'flame-node.pool': name } });
      expect(containers(`label=flame-node.pool=${name}`)).toEqual([]);
      expect(pool.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
      // The runner the fake "ran" is stopped and removed there too. (pool.terminate() does
      // not wait for the stop of a runner whose boot failed, so this waits for it.)
      const engine = fake;
      const removed = () => engine.containers.size === 0 || undefined;
      await waitFor('the fake runner to be removed', removed, 10_000);
    },
  );

  // A parent that exits once close() resolves must not leave a runner behind mid-removal.
  it('resolves terminate() only once the runner of a failed boot is gone', async () => {
    fake = await FakeEngine.tcp();
    pool = dockerHostPool(`tcp://127.0.0.1:${fake.port}`, `${rig.pool}-host-close`);

    await expect(pool.call('tasks/work#ping')).rejects.toBeInstanceOf(BootError);
    await pool.terminate();
    expect([...fake.containers.values()].map((container) => container.state)).toEqual([]);
  });

  it('fails a call at once with a ConfigurationError naming a dead address', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    pool = dockerHostPool(`tcp://127.0.0.1:${port}`, `${rig.pool}-host-closed`);

    const started = performance.now();
    const error = await pool.call('tasks/work#ping').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DockerUnavailableError);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`tcp://127.0.0.1:${port} (DOCKER_HOST)`);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses a DOCKER_HOST that is not an address before any pool exists', () => {
    process.env.DOCKER_HOST = 'docker.example:2375';
    expect(() => new DockerBackend({ image: 'app', network: 'flame-net' })).toThrow(
      /DOCKER_HOST="docker.example:2375" is not a Docker host address/,
    );
  });
});

/** `docker stop`s a parent (SIGTERM: it terminates its pools) and waits for it to end. */
async function stopParent(parent: ParentContainer): Promise<number | null> {
  try {
    docker('stop', '-t', '30', parent.name);
  } catch {
    // Gone already.
  }
  return parent.exited;
}

describe('two parents on one daemon, 20 runners each, and one of them killed', () => {
  const PER_PARENT = 20;
  const HOLD_ENV = { MINIMAL_MAX: String(PER_PARENT), MINIMAL_BOOT_TIMEOUT_MS: '90000' };
  let doomed: ParentContainer;
  let survivor: ParentContainer;
  let doomedRunners: string[];
  let survivorRunners: string[];
  let doomedLabels: Record<string, string>;

  afterAll(async () => {
    for (const parent of [doomed, survivor]) if (parent) await stopParent(parent);
  }, 60_000);

  it('boots all 40 at once without a name clash', async () => {
    const started = performance.now();
    [doomed, survivor] = await Promise.all([
      rig.startParent(HOLD_ENV, ['hold', String(PER_PARENT)], 'holding'),
      rig.startParent(HOLD_ENV, ['hold', String(PER_PARENT)], 'holding'),
    ]);
    const ms = Math.round(performance.now() - started);
    figures['2 parents x 20 runners, all up after'] = `${ms} ms`;

    for (const parent of [doomed, survivor]) {
      const holding = parent.events.find((event) => event.event === 'holding');
      expect(holding).toMatchObject({ runners: PER_PARENT, booting: 0, busy: PER_PARENT });
    }
    doomedRunners = rig.runners(doomed);
    survivorRunners = rig.runners(survivor);
    doomedLabels = inspect<{ Config: { Labels: Record<string, string> } }>(doomedRunners[0])!
      .Config.Labels;
    expect(doomedRunners).toHaveLength(PER_PARENT);
    expect(survivorRunners).toHaveLength(PER_PARENT);
    const pool = `label=flame-node.pool=${rig.pool}`;
    const names = await listContainers('{{.Names}} {{.State}}', pool);
    expect(names).toHaveLength(2 * PER_PARENT);
    expect(new Set(names.map((line) => line.split(' ')[0])).size).toBe(2 * PER_PARENT);
    expect(names.every((line) => line.endsWith(' running'))).toBe(true);
  }, 150_000);

  it('removes the runners of the killed parent within seconds and keeps the others', async () => {
    const killed = performance.now();
    doomed.kill();
    await waitFor('the runners of the killed parent to go', () => {
      return rig.runners(doomed).length === 0 || undefined;
    }, 30_000);
    const gone = Math.round(performance.now() - killed);
    figures['20 runners of a killed parent gone after'] = `${gone} ms`;
    expect(gone).toBeLessThan(5_000);
    expect(await doomed.exited).toBe(137);

    const running = containers(
      'label=flame-node.managed=true',
      `label=flame-node.parent-container=${survivor.id}`,
      'status=running',
    );
    expect(running.sort()).toEqual([...survivorRunners].sort());
    const lost = logRecords(survivor.logs).filter((record) => record.level >= 40);
    expect(lost).toEqual([]);
  }, 60_000);

  it('lets the survivor stop its 20 runners when it is stopped', async () => {
    const stopped = performance.now();
    expect(await stopParent(survivor)).toBe(0);
    await waitFor('the survivor runners to go', () => {
      return rig.runners(survivor).length === 0 || undefined;
    }, 30_000);
    figures['docker stop of a parent with 20 runners, all gone after'] =
      `${Math.round(performance.now() - stopped)} ms`;
  }, 60_000);

  // What a parent killed between `create` and `start` of a runner leaves: a container with
  // its labels that never ran. A third parent removes it when its pool starts.
  it('has a third parent sweep a leftover of the killed parent when its pool starts', async () => {
    const runnerId = `flame-${rig.pool}-orphan-${randomBytes(4).toString('hex')}`;
    const labels = { ...doomedLabels, 'flame-node.runner': runnerId };
    const flags = Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
    const orphan = docker('create', '--name', runnerId, '--network', 'none', ...flags,
      rig.imageTag, 'node', '-e', '0').slice(0, 12);

    const third = await rig.startParent({ FLAME_LOG_LEVEL: 'info' });
    succeeded(await third.call('tasks/work#ping'), third);
    expect(inspect(orphan)).toBeUndefined();
    const removed = logRecords(third.logs).find((record) => record.msg === 'removed orphan runner');
    expect(removed).toMatchObject({ containerId: orphan, runnerId });
    expect(removed?.reason).toContain(`parent container ${doomed.id.slice(0, 12)} is gone`);
    await third.close();
  });
});

describe('with keepRunners, the last log line of a runner says why it ended', () => {
  const IDLE_MS = 1_500;
  const KEEP_ENV = { MINIMAL_KEEP_RUNNERS: '1', FLAME_LOG_LEVEL: 'info' };
  const kept: string[] = [];
  let parent: ParentContainer;

  beforeAll(async () => {
    parent = await rig.startParent({ ...KEEP_ENV, MINIMAL_IDLE_MS: String(IDLE_MS) });
  });

  afterAll(async () => {
    await parent?.close();
    removeContainers(kept);
  });

  /** Runs `task` on a fresh runner; resolves with the runner's id once its container ended. */
  async function runnerThatEnds(
    task: string,
    args: unknown[],
    end: (runnerId: string) => void = () => undefined,
  ): Promise<string> {
    const report = succeeded(await parent.call<Report>(task, args), parent);
    const runnerId = report.runnerId;
    kept.push(runnerId);
    end(runnerId);
    await waitFor(`runner ${runnerId} to end`, () => {
      const state = containerState(runnerId);
      return state !== undefined && !state.Running ? state : undefined;
    }, 20_000);
    return runnerId;
  }

  /**
   * The last line of `docker logs`, parsed, and the parent's copy of it (which may come a
   * little after the container ended: it travels through the parent's attach stream).
   */
  async function lastWords(runnerId: string): Promise<{ container: LogRecord; parent: LogRecord }> {
    const lines = containerLogLines(runnerId);
    const last = logRecords(lines.slice(-1))[0];
    if (last === undefined) throw new Error(`no log line of ${runnerId}:\n${lines.join('\n')}`);
    const same = (record: LogRecord): boolean =>
      record.runnerId === runnerId && record.msg === last.msg && record.reason === last.reason;
    const copy = await waitFor(`the parent's copy of the last line of ${runnerId}`, () => {
      return logRecords(parent.logs).find(same);
    }, 5_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${parent.tail()}`);
    });
    return { container: last, parent: copy };
  }

  it('idle: "idle", in docker logs and in the parent log', async () => {
    const runnerId = await runnerThatEnds('tasks/work#ping', []);
    const words = await lastWords(runnerId);

    expect(words.container).toMatchObject({ msg: 'runner stopping: idle', reason: 'idle', runnerId });
    expect(words.parent).toMatchObject({ msg: 'runner stopping: idle', reason: 'idle' });
    expect(containerState(runnerId)).toMatchObject({ Status: 'exited', ExitCode: 0 });
  });

  it('a task crashes the runner: "uncaught exception in a task", in both logs', async () => {
    const runnerId = await runnerThatEnds('tasks/faults#crashSoon', [50]);
    const words = await lastWords(runnerId);
    const fatal = logRecords(containerLogLines(runnerId)).find((record) => record.level === 60);

    expect(words.container).toMatchObject({ msg: expect.stringMatching(/^runner stopping: /), runnerId });
    expect(words.container.reason).toBe('uncaught exception in a task');
    expect(words.parent).toMatchObject({ reason: 'uncaught exception in a task' });
    expect(JSON.stringify(fatal?.err)).toContain('a task crashed its runner on purpose');
    expect(containerState(runnerId)).toMatchObject({ Status: 'exited', ExitCode: 1 });
  });

  it('docker stop of a runner: "SIGTERM received", in both logs', async () => {
    const runnerId = await runnerThatEnds('tasks/work#ping', [], (id) => {
      docker('stop', '-t', '10', id);
    });
    const words = await lastWords(runnerId);

    expect(words.container).toMatchObject({ msg: 'runner stopping: SIGTERM received', reason: 'SIGTERM received' });
    expect(words.parent).toMatchObject({ msg: 'runner stopping: SIGTERM received', reason: 'SIGTERM received' });
  });

  it('the pool closes: "pool closed", in both logs', async () => {
    const report = succeeded(await parent.call<Report>('tasks/work#ping'), parent);
    kept.push(report.runnerId);
    await parent.close();
    const words = await lastWords(report.runnerId);

    expect(words.container).toMatchObject({ msg: 'runner stopping: pool closed', reason: 'pool closed' });
    expect(words.parent).toMatchObject({ msg: 'runner stopping: pool closed', reason: 'pool closed' });
  });

  it('the parent is killed: "parent connection lost", in docker logs', async () => {
    const doomed = await rig.startParent(KEEP_ENV);
    const report = succeeded(await doomed.call<Report>('tasks/work#ping'), doomed);
    kept.push(report.runnerId);
    doomed.kill();
    // Until its `docker run` ends, the rig would try to close it (and wait for a reply).
    await doomed.exited;
    await waitFor('the runner to end', () => {
      return containerState(report.runnerId)?.Running === false || undefined;
    }, 20_000);
    const lines = containerLogLines(report.runnerId);
    const last = logRecords(lines.slice(-1))[0];

    expect(last).toMatchObject({ msg: expect.stringMatching(/^runner stopping: /), runnerId: report.runnerId });
    expect(last?.reason).toMatch(/^parent connection lost/);
  });

  // A user who sets no log level still needs to know why a kept runner ended.
  it('says why in docker logs at the default log level too', async () => {
    const quiet = await rig.startParent({ MINIMAL_KEEP_RUNNERS: '1', MINIMAL_IDLE_MS: '1000' });
    const report = succeeded(await quiet.call<Report>('tasks/work#ping'), quiet);
    kept.push(report.runnerId);
    await waitFor('the idle runner to end', () => {
      return containerState(report.runnerId)?.Running === false || undefined;
    }, 20_000);
    await quiet.close();
    const lines = containerLogLines(report.runnerId);
    const last = logRecords(lines.slice(-1))[0] ?? { 'docker logs': lines };

    expect(last).toMatchObject({ msg: 'runner stopping: idle', reason: 'idle' });
  });

  it('leaves nothing once the kept containers are removed', () => {
    removeContainers(kept);
    expect(kept.filter((id) => containerState(id) !== undefined)).toEqual([]);
  });
});

describe('idle reaping, 20 times over', () => {
  const IDLE_MS = 300;
  const ROUNDS = 20;
  let parent: ParentContainer;

  beforeAll(async () => {
    parent = await rig.startParent({ MINIMAL_IDLE_MS: String(IDLE_MS), FLAME_LOG_LEVEL: 'info' });
  });

  afterAll(() => parent?.close());

  it('reaps every runner, settles every call and leaves no container', async () => {
    const served: string[] = [];
    const alive: number[] = [];
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      const reply = await parent.call<Report>('tasks/work#ping', [], { timeout: 30_000 });
      served.push(succeeded(reply, parent).runnerId);
      // Reaps that never ended would pile up containers here.
      alive.push((await listContainers('{{.ID}}', `label=flame-node.parent-container=${parent.id}`))
        .length);
      // Just past the idle timeout, so each next call meets a runner on its way out (or
      // gone) and boots the next one while the last is still being stopped and removed.
      await sleep(IDLE_MS + 50 + (round % 5) * 25);
    }
    await waitFor('every runner container to go', () => {
      return rig.runners(parent).length === 0 || undefined;
    }, 15_000);
    figures[`${ROUNDS} calls each reaped (idle ${IDLE_MS} ms), all gone after`] =
      `${Math.round(performance.now() - started)} ms`;

    expect(new Set(served).size).toBe(ROUNDS);
    expect(Math.max(...alive)).toBeLessThanOrEqual(2);
    expect(await stats(parent)).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
    const reaped = logRecords(parent.logs).filter(
      (record) => record.msg === 'runner stopping: idle' && record.reason === 'idle',
    );
    expect(reaped.map((record) => record.runnerId).sort()).toEqual([...served].sort());
    expect(logRecords(parent.logs).filter((record) => record.level >= 40)).toEqual([]);
  }, 120_000);

  it('closes at once afterwards: nothing is left to wait for', async () => {
    const closing = performance.now();
    await parent.close(10_000);
    const ms = Math.round(performance.now() - closing);
    const exit = await Promise.race([parent.exited, sleep(1_000).then(() => 'still running')]);

    expect(exit).toBe(0);
    expect(ms).toBeLessThan(3_000);
    expect(containers(`label=flame-node.pool=${rig.pool}`)).toEqual([]);
    figures['close of the reaped pool, parent exited after'] = `${ms} ms`;
  });
});
