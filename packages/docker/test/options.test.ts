import { ConfigurationError } from '@flame-node/core';
import { DockerBackend } from '../src';
import { isolateEnvironment } from './helpers';

isolateEnvironment();
afterEach(() => DockerBackend.configure());

const base = { image: 'app:1', network: 'flame-net', socketPath: '/tmp/none.sock' };

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('option validation', () => {
  it('refuses unknown keys, naming the key', () => {
    const error = thrown(() => new DockerBackend({ ...base, imag: 'x' } as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('options.imag is not a Docker backend option');
  });

  it.each([
    [{ pull: 'sometimes' }, 'options.pull must be one of "missing", "always", "never"; got'],
    [{ keepRunners: 'yes' }, "options.keepRunners must be a boolean; got 'yes'"],
    [{ cmd: 'node runner.js' }, 'options.cmd must be a non-empty array of strings'],
    [{ image: '' }, "options.image must be a non-empty string without spaces; got ''"],
    [{ hostConfig: { memory: 1 } }, 'options.hostConfig.memory is not an Engine API HostConfig'],
    [{ mounts: [{ source: '/a' }] }, 'options.mounts[0].source is not an Engine API mount field'],
    [{ mounts: [{ Type: 'tmpfs' }] }, 'options.mounts[0].Target must be a non-empty string'],
    [{ env: ['NOVALUE'] }, 'options.env[0] must be a "KEY=value" string'],
    [{ env: { A: { nested: 1 } } }, 'options.env.A must be a string, a finite number or a boolean'],
    [{ labels: { team: 7 } }, 'options.labels.team must be a string; got 7'],
  ])('refuses %j with a message naming option, rule and value', (bad, message) => {
    const error = thrown(() => new DockerBackend({ ...base, ...bad } as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain(message);
  });

  it('prefixes configure() errors so the caller knows where they came from', () => {
    const error = thrown(() => DockerBackend.configure({ pull: 'nope' } as never));
    expect(error.message).toMatch(/^DockerBackend\.configure\(\): options\.pull/);
  });

  it('counts undefined values as unset', () => {
    const backend = new DockerBackend({ ...base, parentHost: undefined, pull: undefined });
    expect(backend.options.pull).toBe('missing');
  });
});

describe('required options', () => {
  it('needs an image, and says where to set it', () => {
    const error = thrown(() => new DockerBackend({ network: 'flame-net' }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('options.image');
    expect(error.message).toContain('FLAME_DOCKER_IMAGE');
  });

  it('needs a network, and says where to set it', () => {
    const error = thrown(() => new DockerBackend({ image: 'app' }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('options.network');
  });
});

describe('layers', () => {
  it('takes image, network and hostConfig from FLAME_DOCKER_* variables', () => {
    process.env.FLAME_DOCKER_IMAGE = 'env-image:3';
    process.env.FLAME_DOCKER_NETWORK = 'env-net';
    process.env.FLAME_DOCKER_HOST_CONFIG = '{"Memory": 1000, "NanoCpus": 5}';
    const backend = new DockerBackend({ socketPath: '/tmp/none.sock' });
    expect(backend.options).toMatchObject({
      image: 'env-image:3',
      network: 'env-net',
      hostConfig: { Memory: 1000, NanoCpus: 5 },
    });
  });

  it('takes the pull policy from FLAME_DOCKER_PULL, and names the variable when it is wrong', () => {
    process.env.FLAME_DOCKER_PULL = 'never';
    expect(new DockerBackend(base).options.pull).toBe('never');

    process.env.FLAME_DOCKER_PULL = 'sometimes';
    const error = thrown(() => new DockerBackend(base));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(/^FLAME_DOCKER_PULL must be one of "missing", "always", "never"/);
  });

  it('reports bad JSON in FLAME_DOCKER_HOST_CONFIG as a ConfigurationError', () => {
    process.env.FLAME_DOCKER_HOST_CONFIG = '{Memory: 1000';
    const error = thrown(() => new DockerBackend(base));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('FLAME_DOCKER_HOST_CONFIG is not valid JSON');
  });

  it('reports a FLAME_DOCKER_HOST_CONFIG that is not an object', () => {
    process.env.FLAME_DOCKER_HOST_CONFIG = '[1, 2]';
    const error = thrown(() => new DockerBackend(base));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('FLAME_DOCKER_HOST_CONFIG must be an object');
  });

  it('stacks env < configure() < constructor < withOptions, merging hostConfig per key', () => {
    process.env.FLAME_DOCKER_IMAGE = 'env-image';
    process.env.FLAME_DOCKER_HOST_CONFIG = '{"Memory": 1, "CpuShares": 10}';
    DockerBackend.configure({
      image: 'app-image',
      network: 'app-net',
      hostConfig: { Memory: 2, PidsLimit: 50 },
    });
    const pool = new DockerBackend({
      network: 'pool-net',
      hostConfig: { Memory: 3 },
      socketPath: '/tmp/none.sock',
    });
    const runner = pool.withOptions({ hostConfig: { NanoCpus: 7 }, keepRunners: true });

    expect(pool.options).toMatchObject({
      image: 'app-image',
      network: 'pool-net',
      hostConfig: { Memory: 3, CpuShares: 10, PidsLimit: 50 },
      keepRunners: false,
    });
    expect(runner.options).toMatchObject({
      image: 'app-image',
      network: 'pool-net',
      hostConfig: { Memory: 3, CpuShares: 10, PidsLimit: 50, NanoCpus: 7 },
      keepRunners: true,
    });
  });

  it('merges env and labels per key, and replaces mounts and cmd', () => {
    const models = { Type: 'volume', Source: 'models', Target: '/models' };
    DockerBackend.configure({
      ...base,
      env: ['A=1', 'B=1'],
      labels: { team: 'x', app: 'y' },
      mounts: [{ Type: 'tmpfs', Target: '/scratch' }],
      cmd: ['node', 'a.js'],
    });
    const backend = new DockerBackend({ env: { B: 2, C: true }, labels: { app: 'z' } })
      .withOptions({ mounts: [models], cmd: ['node', 'b.js'] });

    expect(backend.options.env).toEqual({ A: '1', B: '2', C: 'true' });
    expect(backend.options.labels).toEqual({ team: 'x', app: 'z' });
    expect(backend.options.mounts).toEqual([models]);
    expect(backend.options.cmd).toEqual(['node', 'b.js']);
  });

  it('validates withOptions overrides like constructor options', () => {
    const backend = new DockerBackend(base);
    const bad = () => backend.withOptions({ network: 7 } as never);
    expect(bad).toThrow(/^withOptions\(\): options\.network/);
  });

  it('defaults parentHost to this host name and listens on every interface', () => {
    const backend = new DockerBackend(base);
    expect(backend.parentHost()).toBe(require('node:os').hostname());
    expect(backend.listenHost()).toBe('0.0.0.0');
    const named = new DockerBackend({ ...base, parentHost: 'my-app-parent' });
    expect(named.parentHost()).toBe('my-app-parent');
  });
});
