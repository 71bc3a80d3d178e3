import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BootError, ConfigurationError } from '@flame-node/core';
import { DockerBackend, DockerUnavailableError } from '../src';
import { LINUX_SOCKET, WSL2_SOCKET, resolveEndpoint, type SocketProbe } from '../src/socket';
import { FakeEngine, silentServer } from './fake-engine';
import { captureLogger, isolateEnvironment, makeLaunch } from './helpers';

isolateEnvironment();

const context = () => ({ pool: 'pool-a', parentId: 'parent-me', logger: captureLogger().logger });

function probe(env: NodeJS.ProcessEnv, existing: string[] = []): SocketProbe {
  return { env, homedir: '/home/ann', platform: 'linux', exists: (f) => existing.includes(f) };
}

describe('socket resolution order', () => {
  const desktop = '/home/ann/.docker/run/docker.sock';

  it('prefers options.socketPath over DOCKER_HOST', () => {
    const env = { DOCKER_HOST: 'tcp://10.1.1.1:2375' };
    const endpoint = resolveEndpoint('/tmp/mine.sock', probe(env));
    expect(endpoint).toMatchObject({ path: '/tmp/mine.sock', source: 'options.socketPath' });
  });

  it('prefers DOCKER_HOST over every platform socket', () => {
    const env = { DOCKER_HOST: 'unix:///x/d.sock' };
    const endpoint = resolveEndpoint(undefined, probe(env, [WSL2_SOCKET, LINUX_SOCKET]));
    expect(endpoint).toMatchObject({ kind: 'unix', path: '/x/d.sock', source: 'DOCKER_HOST' });
  });

  it('tries WSL2, then Docker Desktop, then /var/run/docker.sock', () => {
    const all = [WSL2_SOCKET, desktop, LINUX_SOCKET];
    const pick = (existing: string[]) =>
      (resolveEndpoint(undefined, probe({}, existing)) as { path: string }).path;
    expect(pick(all)).toBe(WSL2_SOCKET);
    expect(pick([desktop, LINUX_SOCKET])).toBe(desktop);
    expect(pick([LINUX_SOCKET])).toBe(LINUX_SOCKET);
  });

  it('falls back to /var/run/docker.sock when no socket exists, so errors name it', () => {
    expect(resolveEndpoint(undefined, probe({}))).toMatchObject({ path: LINUX_SOCKET });
  });
});

describe('DOCKER_HOST parsing', () => {
  it('reads tcp addresses with and without port, and TLS from DOCKER_TLS_VERIFY', () => {
    const host = (env: NodeJS.ProcessEnv) => resolveEndpoint(undefined, probe(env));
    expect(host({ DOCKER_HOST: 'tcp://10.0.0.5:2380' })).toMatchObject({
      kind: 'tcp',
      host: '10.0.0.5',
      port: 2380,
    });
    expect(host({ DOCKER_HOST: 'tcp://dockerd' })).toMatchObject({ port: 2375 });
    const tls = host({ DOCKER_HOST: 'tcp://dockerd', DOCKER_TLS_VERIFY: '1' });
    expect(tls).toMatchObject({ port: 2376, tlsCertDir: '/home/ann/.docker' });
  });

  const garbage = [
    'banana',
    'http//x',
    'ssh://me@build-host',
    'unix://',
    'unix://relative.sock',
    'tcp://h:99999',
    'ftp://h',
    'tcp://h:2375/some/path',
  ];
  it.each(garbage)(
    'refuses %s with a ConfigurationError naming DOCKER_HOST',
    (value) => {
      let error: unknown;
      try {
        resolveEndpoint(undefined, probe({ DOCKER_HOST: value }));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain(`DOCKER_HOST=${JSON.stringify(value)}`);
    },
  );

  it('makes the backend constructor throw for a garbage DOCKER_HOST', () => {
    process.env.DOCKER_HOST = 'banana';
    const make = () => new DockerBackend({ image: 'app', network: 'flame-net' });
    expect(make).toThrow(ConfigurationError);
  });
});

describe('reaching the daemon', () => {
  let engines: FakeEngine[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const tmp: string[] = [];

  afterEach(async () => {
    await Promise.all(engines.map((engine) => engine.close()));
    engines = [];
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    for (const dir of tmp.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function engine(kind: 'unix' | 'tcp'): Promise<FakeEngine> {
    const created = kind === 'unix' ? await FakeEngine.unix() : await FakeEngine.tcp();
    engines.push(created);
    return created;
  }

  function tempDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flame-sock-'));
    tmp.push(dir);
    return dir;
  }

  it('reaches a daemon named by DOCKER_HOST=tcp://127.0.0.1:<port>', async () => {
    const fake = await engine('tcp');
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${fake.port}`;
    await new DockerBackend({ image: 'app', network: 'flame-net' }).init(context());
    expect(fake.calls()).toContain('GET /_ping');
  });

  it('reaches a daemon named by DOCKER_HOST=unix:///tmp/...sock', async () => {
    const fake = await engine('unix');
    process.env.DOCKER_HOST = `unix://${fake.socketPath}`;
    await new DockerBackend({ image: 'app', network: 'flame-net' }).init(context());
    expect(fake.calls()).toContain('GET /_ping');
  });

  it('uses options.socketPath even when DOCKER_HOST names another daemon', async () => {
    const viaEnv = await engine('tcp');
    const viaOption = await engine('unix');
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${viaEnv.port}`;
    const socketPath = viaOption.socketPath;
    const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath });
    await backend.init(context());
    expect(viaOption.calls()).toContain('GET /_ping');
    expect(viaEnv.requests).toHaveLength(0);
  });

  it('names the missing socket and how to mount it', async () => {
    const missing = path.join(tempDir(), 'docker.sock');
    const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath: missing });
    const error = await backend.init(context()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DockerUnavailableError);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain('-v <host-socket>:/var/run/docker.sock');
    expect((error as Error).message).toContain('DOCKER_HOST');
  });

  it('explains a directory mounted where the socket should be', async () => {
    const dir = path.join(tempDir(), 'docker.sock');
    fs.mkdirSync(dir);
    const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath: dir });
    await expect(backend.init(context())).rejects.toThrow(/is a directory, not a socket/);
  });

  it('fails init within the ping timeout when the daemon never answers', async () => {
    const socketPath = path.join(tempDir(), 'silent.sock');
    const silent = await silentServer(socketPath);
    cleanups.push(() => silent.close());

    const started = Date.now();
    const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath });
    const error = await backend.init(context()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DockerUnavailableError);
    expect((error as Error).message).toMatch(/did not answer within 5000 ms/);
    expect(Date.now() - started).toBeLessThan(7000);
  }, 10_000);

  it('makes start() give up once the boot is aborted when the daemon never answers', async () => {
    const socketPath = path.join(tempDir(), 'silent.sock');
    const silent = await silentServer(socketPath);
    cleanups.push(() => silent.close());

    const started = Date.now();
    const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath });
    const launch = makeLaunch({ signal: AbortSignal.timeout(300) });
    await expect(backend.start(launch)).rejects.toBeInstanceOf(BootError);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
