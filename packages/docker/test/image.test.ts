import { ConfigurationError } from '@flame-node/core';
import { DockerBackend } from '../src';
import { parseImageRef, pullTag } from '../src/image';
import { FakeEngine } from './fake-engine';
import { captureLogger, isolateEnvironment, makeLaunch } from './helpers';

isolateEnvironment();

describe('image references', () => {
  it.each([
    ['app', 'app', 'latest'],
    ['app:1.2', 'app', '1.2'],
    ['team/app:1.2', 'team/app', '1.2'],
    ['registry.local:5000/team/app', 'registry.local:5000/team/app', 'latest'],
    ['registry.local:5000/team/app:1.2', 'registry.local:5000/team/app', '1.2'],
    ['app@sha256:0123abcd', 'app', 'sha256:0123abcd'],
    ['registry.local:5000/app:1.2@sha256:0123abcd', 'registry.local:5000/app', 'sha256:0123abcd'],
  ])('%s pulls repository %s with tag %s', (image, repository, tag) => {
    const ref = parseImageRef(image);
    expect(ref.repository).toBe(repository);
    expect(pullTag(ref)).toBe(tag);
  });

  it.each(['app:', ':1.2', 'app@'])('refuses %s', (image) => {
    expect(() => parseImageRef(image)).toThrow(ConfigurationError);
  });
});

describe('pulling', () => {
  let fake: FakeEngine;
  beforeEach(async () => {
    fake = await FakeEngine.unix();
  });
  afterEach(() => fake.close());

  const context = () => ({ pool: 'pool-a', parentId: 'parent-me', logger: captureLogger().logger });
  const pulls = () =>
    fake.requests
      .filter((r) => r.path === '/images/create')
      .map((r) => `${r.query.get('fromImage')} ${r.query.get('tag')}`);
  const make = (image: string, pull?: 'missing' | 'always' | 'never') =>
    new DockerBackend({
      image,
      pull,
      network: 'flame-net',
      socketPath: fake.socketPath,
      cmd: ['x'],
    });

  it('does not pull an image the daemon has', async () => {
    await make('app').init(context());
    expect(pulls()).toEqual([]);
  });

  it('pulls a missing image once, with its own tag and registry port', async () => {
    const backend = make('registry.local:5000/team/app:1.2');
    await backend.init(context());
    const runner = await backend.start(makeLaunch());
    expect(pulls()).toEqual(['registry.local:5000/team/app 1.2']);
    await runner.stop(0);
  });

  it('pulls by digest when the reference has one', async () => {
    await make('app@sha256:0123abcd').init(context());
    expect(pulls()).toEqual(['app sha256:0123abcd']);
  });

  it('fails on an error reported inside the pull stream, naming the image', async () => {
    fake.pullStream = () => [
      { status: 'Pulling from team/app' },
      {
        errorDetail: { message: 'manifest for team/app:9 not found' },
        error: 'manifest for team/app:9 not found',
      },
    ];
    const error = await make('team/app:9').init(context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('cannot pull image team/app:9');
    expect((error as Error).message).toContain('manifest for team/app:9 not found');
  });

  it('fails when the daemon refuses the pull request itself', async () => {
    fake.routes.push((req, res) => {
      if (req.path !== '/images/create') return false;
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'pull access denied for ghost' }));
      return true;
    });
    const error = await make('ghost').init(context()).catch((e: Error) => e);
    // The daemon's words once, after the status; not dockerode's own wording of it again.
    expect(error.message).toBe(
      'cannot pull image ghost: Docker Engine API POST /images/create failed (HTTP 404): ' +
        'pull access denied for ghost',
    );
  });

  it("keeps a daemon's plain-text refusal as it said it", async () => {
    fake.routes.push((req, res) => {
      if (req.path !== '/images/create') return false;
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('dial tcp 127.0.0.1:1: connect: connection refused\n');
      return true;
    });
    const error = await make('127.0.0.1:1/nope:1').init(context()).catch((e: Error) => e);
    expect(error.message).toBe(
      'cannot pull image 127.0.0.1:1/nope:1: Docker Engine API POST /images/create failed ' +
        '(HTTP 500): dial tcp 127.0.0.1:1: connect: connection refused',
    );
  });

  it('never pulls with pull: "never", and says the image is missing', async () => {
    const error = await make('absent:2', 'never').init(context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('image absent:2 is not on the Docker daemon');
    expect(pulls()).toEqual([]);
  });

  it('pulls an image it already has with pull: "always"', async () => {
    await make('app', 'always').init(context());
    expect(pulls()).toEqual(['app latest']);
  });

  it('tries again after a failed pull', async () => {
    let fail = true;
    fake.pullStream = () => (fail ? [{ error: 'TLS handshake timeout' }] : [{ status: 'done' }]);
    const backend = make('flaky:1');
    await expect(backend.init(context())).rejects.toThrow(/TLS handshake timeout/);
    fail = false;
    await backend.init(context());
    expect(pulls()).toEqual(['flaky 1', 'flaky 1']);
  });
});
