import * as os from 'node:os';
import { BootError, ConfigurationError } from '@flame-node/core';
import { DockerBackend, type DockerBackendOptions } from '../src';
import { FakeEngine, type FakeContainer } from './fake-engine';
import { captureLogger, fakeBackend, eventually, isolateEnvironment, makeLaunch } from './helpers';

isolateEnvironment();

let fake: FakeEngine;
let backend: DockerBackend;
beforeEach(async () => {
  fake = await FakeEngine.unix();
  backend = make({});
});
afterEach(() => fake.close());

const make = (options: DockerBackendOptions = {}) => fakeBackend(fake, options);
const creates = () => fake.requests.filter((r) => r.path === '/containers/create');

const context = () => ({ pool: 'pool-a', parentId: 'parent-me', logger: captureLogger().logger });
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runner exit', () => {
  it('reports a crash during boot through exited, with exit code and last log lines', async () => {
    fake.onStart = (c) => {
      fake.output(c, 'stdout', 'booting\n');
      fake.output(c, 'stderr', 'Error: cannot find module \'./tasks\'\n');
      setImmediate(() => fake.exit(c, 3));
    };
    const runner = await backend.start(makeLaunch());
    const exit = await runner.exited;

    expect(exit).toMatchObject({ code: 3, signal: null });
    expect(exit.logTail).toEqual(['booting', "Error: cannot find module './tasks'"]);
    expect(fake.find(runner.backendId)).toBeUndefined();
  });

  it('registers the exit wait and attaches before the container starts', async () => {
    fake.onStart = (c) => fake.exit(c, 0);
    const runner = await backend.start(makeLaunch());
    await runner.exited;

    const calls = fake.calls();
    const start = calls.findIndex((c) => c.endsWith('/start'));
    const wait = fake.requests.findIndex(
      (r) => r.path.endsWith('/wait') && r.query.get('condition') === 'next-exit',
    );
    const attach = calls.findIndex((c) => c.endsWith('/attach'));
    expect(wait).toBeGreaterThan(-1);
    expect(wait).toBeLessThan(start);
    expect(attach).toBeLessThan(start);
  });

  it('keeps the last 30 lines, re-logging pino lines of the runner at their level', async () => {
    const { logger, records } = captureLogger();
    fake.onStart = (c) => {
      for (let i = 1; i <= 40; i++) fake.output(c, 'stdout', `line ${i}\n`);
      const pinoLine = JSON.stringify({ level: 50, time: 1, msg: 'task failed', task: 't#x' });
      fake.output(c, 'stdout', `${pinoLine}\n`);
      setImmediate(() => fake.exit(c, 1));
    };
    const runner = await backend.start(makeLaunch({ logger }));
    const exit = await runner.exited;

    expect(exit.logTail).toHaveLength(30);
    expect(exit.logTail?.[0]).toBe('line 12');
    expect(exit.logTail?.[29]).toBe('error: task failed');
    const relayed = records.find((r) => r.msg === 'task failed');
    const containerId = runner.backendId.slice(0, 12);
    expect(relayed).toMatchObject({ level: 50, task: 't#x', containerId });
  });

  it('stops with docker stop t=ceil(grace) and resolves after the container is gone', async () => {
    const runner = await backend.start(makeLaunch());
    await runner.stop(1500);

    const stop = fake.requests.find((r) => r.path.endsWith('/stop'));
    expect(stop?.query.get('t')).toBe('2');
    await expect(runner.exited).resolves.toMatchObject({ code: 143 });
    expect(fake.find(runner.backendId)).toBeUndefined();
    await runner.stop(1500);
    expect(fake.requests.filter((r) => r.path.endsWith('/stop'))).toHaveLength(1);
  });

  it('kills a container that does not stop, tolerating 304 and 409 on the way', async () => {
    fake.routes.push((req, res) => {
      if (!req.path.endsWith('/stop')) return false;
      res.writeHead(304).end();
      return true;
    });
    const runner = await backend.start(makeLaunch());
    await runner.stop(0);
    expect(fake.calls().some((c) => c.endsWith('/kill'))).toBe(true);
    await expect(runner.exited).resolves.toMatchObject({ code: 137 });
  }, 10_000);
});

describe('out-of-memory kills', () => {
  /** The container is gone before anyone can inspect it, as when AutoRemove wins. */
  const inspectFinds = (found: boolean) =>
    fake.routes.push((req, res) => {
      if (found || !/^\/containers\/[^/]+\/json$/.test(req.path)) return false;
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'No such container' }));
      return true;
    });

  it('tells an OOM kill from its events even when the container is already removed', async () => {
    inspectFinds(false);
    const runner = await backend.start(makeLaunch());
    fake.exit(fake.find(runner.backendId) as FakeContainer, 137, { oom: true });
    await expect(runner.exited).resolves.toMatchObject({ code: 137, oomKilled: true });
  });

  it('tells a plain SIGKILL (docker kill) from an OOM kill the same way', async () => {
    inspectFinds(false);
    const runner = await backend.start(makeLaunch());
    fake.exit(fake.find(runner.backendId) as FakeContainer, 137);
    await expect(runner.exited).resolves.toMatchObject({ code: 137, oomKilled: false });
  });

  it('asks inspect when the daemon has no event stream', async () => {
    fake.routes.push((req, res) => {
      if (req.path !== '/events') return false;
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'page not found' }));
      return true;
    });
    // keepRunners: the container stays to be inspected.
    const runner = await make({ keepRunners: true }).start(makeLaunch());
    fake.exit(fake.find(runner.backendId) as FakeContainer, 137, { oom: true });
    await expect(runner.exited).resolves.toMatchObject({ code: 137, oomKilled: true });
  });
});

describe('a parent container runners could not reach', () => {
  // This process plays a parent container: the fake daemon knows a container by its host name.
  const parentOn = (networks: string[]) =>
    fake.addContainer({ name: os.hostname(), hostname: os.hostname(), networks });

  it('is a ConfigurationError at init when it is not on the runner network', async () => {
    parentOn(['elsewhere']);
    const error = await backend.init(context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(
      "runners join the network flame-net, but this parent's container is on elsewhere",
    );
    expect(error.message).toContain('start the parent with --network flame-net');
  });

  it('is a ConfigurationError on the default bridge network, which has no DNS', async () => {
    fake.networks.add('bridge');
    parentOn(['bridge']);
    const error = await make({ network: 'bridge' }).init(context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(/default bridge network has no DNS/);
  });

  it('is left to the user when parentHost is set explicitly', async () => {
    parentOn(['elsewhere']);
    await expect(make({ parentHost: 'parent.example' }).init(context())).resolves.toBeUndefined();
  });

  it('passes when it shares the runner network', async () => {
    parentOn(['flame-net', 'elsewhere']);
    await expect(backend.init(context())).resolves.toBeUndefined();
  });
});

describe('boot failures', () => {
  it('turns a name conflict (409) into a BootError and leaves the other container', async () => {
    const other = fake.addContainer({ name: 'pool-a-clash', state: 'running' });
    const launch = makeLaunch({ runnerId: 'pool-a-clash' });
    const error = await backend.start(launch).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BootError);
    expect((error as Error).message).toContain('a container named pool-a-clash already exists');
    expect((error as Error).message).toContain('409');
    expect(fake.find(other.id)?.state).toBe('running');
  });

  it('names a missing network in init', async () => {
    const elsewhere = make({ network: 'no-such-net' });
    const error = await elsewhere.init(context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('network no-such-net (options.network) does not exist');
  });

  it('names a network that vanished before a runner was created', async () => {
    const gone = make({ network: 'gone-net' });
    const error = await gone.start(makeLaunch()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('gone-net');
  });

  it('reports a failed start as a BootError and removes the created container', async () => {
    fake.routes.push((req, res) => {
      if (!req.path.endsWith('/start')) return false;
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'exec: "node": executable file not found in $PATH' }));
      return true;
    });
    const error = await backend.start(makeLaunch()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootError);
    expect((error as Error).message).toContain('executable file not found');
    expect(fake.containers.size).toBe(0);
  });
});

describe('abort and concurrency', () => {
  /** Makes every create wait until `release()`; counts creates in flight. */
  function slowCreates() {
    let inFlight = 0;
    let peak = 0;
    const held: (() => void)[] = [];
    fake.routes.push(async (req) => {
      if (req.path !== '/containers/create') return false;
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((resolve) => held.push(resolve));
      inFlight -= 1;
      return false;
    });
    return {
      peak: () => peak,
      held: () => held.length,
      release: () => held.splice(0).forEach((resolve) => resolve()),
    };
  }

  it('sends at most 4 creates at once however many runners boot together', async () => {
    const gate = slowCreates();
    const boots = Array.from({ length: 10 }, () => backend.start(makeLaunch()));
    await eventually(() => gate.held() === 4);
    await delay(50);
    expect(gate.peak()).toBe(4);

    while (creates().length < 10 || gate.held() > 0) {
      gate.release();
      await delay(5);
    }
    const runners = await Promise.all(boots);
    expect(gate.peak()).toBe(4);
    for (const runner of runners) fake.exit(fake.find(runner.backendId) as FakeContainer, 0);
    await Promise.all(runners.map((runner) => runner.exited));
  });

  it('rejects a boot aborted while queued at once, and never creates its container', async () => {
    const gate = slowCreates();
    const busy = Array.from({ length: 4 }, () => backend.start(makeLaunch()));
    await eventually(() => gate.held() === 4);

    const controller = new AbortController();
    const queued = makeLaunch({ signal: controller.signal });
    const boot = backend.start(queued);
    await delay(20);
    controller.abort(new Error('boot timeout'));
    await expect(boot).rejects.toBeInstanceOf(BootError);

    gate.release();
    const runners = await Promise.all(busy);
    await delay(20);
    const names = creates().map((r) => r.query.get('name'));
    expect(names).not.toContain(queued.runnerId);
    for (const runner of runners) await runner.stop(0);
  });

  it('rejects at once when aborted mid-create, then removes what the daemon made', async () => {
    const gate = slowCreates();
    const controller = new AbortController();
    const launch = makeLaunch({ signal: controller.signal });
    const boot = backend.start(launch);
    await eventually(() => gate.held() === 1);

    const aborted = Date.now();
    controller.abort(new Error('pool closed'));
    await expect(boot).rejects.toThrow(/boot aborted/);
    expect(Date.now() - aborted).toBeLessThan(100);

    gate.release();
    await eventually(() => fake.calls().some((c) => c.startsWith('DELETE')));
    expect(fake.containers.size).toBe(0);
    expect(fake.calls().some((c) => c.endsWith('/start'))).toBe(false);
  });
});
