import { DockerBackend, type DockerBackendOptions } from '../src';
import { FakeEngine, type FakeContainer } from './fake-engine';
import { captureLogger, fakeBackend, isolateEnvironment, makeLaunch } from './helpers';

isolateEnvironment();

let fake: FakeEngine;
beforeEach(async () => {
  fake = await FakeEngine.unix();
});
afterEach(() => fake.close());

const make = (options: DockerBackendOptions = {}) => fakeBackend(fake, options);

/** Starts one runner and returns the create request the daemon received. */
async function createBody(backend: DockerBackend, launch = makeLaunch()): Promise<{
  name: string | null;
  body: Record<string, any>;
  container: FakeContainer;
}> {
  const runner = await backend.start(launch);
  const create = fake.requests.find((r) => r.path === '/containers/create');
  const container = fake.find(runner.backendId) as FakeContainer;
  fake.exit(container, 0);
  await runner.exited;
  const body = create?.body as Record<string, any>;
  return { name: create?.query.get('name') ?? null, body, container };
}

describe('the create request', () => {
  it('carries the backend wiring: name, Hostname, network, env and labels', async () => {
    const backend = make({ cmd: ['node', '/app/runner.js'] });
    const launch = makeLaunch({ runnerId: 'pool-a-7', pool: 'pool-a' });
    const { name, body } = await createBody(backend, launch);

    expect(name).toBe('pool-a-7');
    expect(body.Hostname).toBe('pool-a-7');
    expect(body.Image).toBe('app');
    expect(body.Cmd).toEqual(['node', '/app/runner.js']);
    expect(body.HostConfig.NetworkMode).toBe('flame-net');
    expect(body.HostConfig.AutoRemove).toBe(true);
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { 'flame-net': {} } });
    expect(body.Env).toEqual(['FLAME_PARENT=descriptor', 'FLAME_COOKIE=secret-cookie']);
    expect(body.Labels).toMatchObject({
      'flame-node.managed': 'true',
      'flame-node.pool': 'pool-a',
      'flame-node.parent': 'parent-me',
      'flame-node.runner': 'pool-a-7',
      'flame-node.parent-host': require('node:os').hostname(),
    });
  });

  it('lets the backend win over user attempts to set wiring fields, warning once', async () => {
    const { logger, records } = captureLogger();
    const backend = new DockerBackend({
      image: 'app',
      network: 'flame-net',
      socketPath: fake.socketPath,
      cmd: ['node', 'r.js'],
      hostConfig: { NetworkMode: 'host', AutoRemove: false, Memory: 256 },
      env: { FLAME_PARENT: 'evil', FLAME_COOKIE: 'guess', NODE_ENV: 'production' },
      labels: { 'flame-node.parent': 'someone-else', team: 'imaging' },
    });

    const first = await createBody(backend, makeLaunch({ logger }));
    fake.requests.length = 0;
    await createBody(backend, makeLaunch({ logger }));

    expect(first.body.HostConfig).toMatchObject({
      NetworkMode: 'flame-net',
      AutoRemove: true,
      Memory: 256,
    });
    expect(first.body.Env).toEqual([
      'NODE_ENV=production',
      'FLAME_PARENT=descriptor',
      'FLAME_COOKIE=secret-cookie',
    ]);
    expect(first.body.Labels).toMatchObject({ 'flame-node.parent': 'parent-me', team: 'imaging' });

    const warnings = records.filter((r) => r.level === 40 && typeof r.field === 'string');
    const warned = warnings.map((r) => r.field);
    expect(warned.sort()).toEqual([
      'env.FLAME_COOKIE',
      'env.FLAME_PARENT',
      'hostConfig.AutoRemove',
      'hostConfig.NetworkMode',
      'labels.flame-node.parent',
    ]);
  });

  it('puts mounts into HostConfig.Mounts after hostConfig.Mounts, never top-level', async () => {
    const backend = new DockerBackend({
      image: 'app',
      network: 'flame-net',
      socketPath: fake.socketPath,
      cmd: ['node', 'r.js'],
      hostConfig: { Mounts: [{ Type: 'tmpfs', Target: '/scratch' }] },
      mounts: [{ Type: 'bind', Source: '/data/models', Target: '/models', ReadOnly: true }],
    });
    const { body } = await createBody(backend);

    expect(body.Mounts).toBeUndefined();
    expect(body.HostConfig.Mounts).toEqual([
      { Type: 'tmpfs', Target: '/scratch' },
      { Type: 'bind', Source: '/data/models', Target: '/models', ReadOnly: true },
    ]);
  });

  it('applies per-runner overrides from withOptions to the container', async () => {
    const pool = new DockerBackend({
      image: 'app',
      network: 'flame-net',
      socketPath: fake.socketPath,
      cmd: ['node', 'r.js'],
      hostConfig: { Memory: 100, PidsLimit: 20 },
    });
    const bigger = pool.withOptions({ hostConfig: { Memory: 4096 }, env: ['MODE=gpu'] });
    const { body } = await createBody(bigger);
    expect(body.HostConfig).toMatchObject({ Memory: 4096, PidsLimit: 20 });
    expect(body.Env).toContain('MODE=gpu');
  });

  it('turns AutoRemove off and keeps exited containers with keepRunners', async () => {
    const { body, container } = await createBody(make({ keepRunners: true }));
    expect(body.HostConfig.AutoRemove).toBe(false);
    expect(fake.find(container.id)?.state).toBe('exited');
    expect(fake.calls().filter((c) => c.startsWith('DELETE'))).toEqual([]);
  });
});
