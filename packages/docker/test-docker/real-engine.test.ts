import { execFileSync } from 'node:child_process';
import { BootError } from '@flame-node/core';
import { DockerBackend, type DockerBackendOptions } from '@flame-node/docker';
import { captureLogger, makeLaunch } from '../test/helpers';

// Drives the real daemon (npm run test:docker). Everything made here is labelled and removed.
const IMAGE = process.env.FLAME_TEST_IMAGE ?? 'flame-node/node-base:20-local';
const NETWORK = `flame-backend-test-${process.pid}`;
const PARENT = `backend-test-${process.pid}`;

const docker = (...args: string[]): string =>
  execFileSync('docker', args, { encoding: 'utf8' }).trim();
const ours = (): string[] =>
  docker('ps', '-aq', '--filter', `label=flame-node.parent=${PARENT}`).split('\n').filter(Boolean);

const make = (options: DockerBackendOptions): DockerBackend =>
  new DockerBackend({ image: IMAGE, network: NETWORK, pull: 'never', ...options });
const launch = () => makeLaunch({ parentId: PARENT, pool: 'backend-test' });
const node = (script: string) => ({ cmd: ['node', '-e', script] });

jest.setTimeout(60_000);

beforeAll(() => {
  docker('network', 'create', '--internal', '--label', 'flame-node.test=1', NETWORK);
});

afterAll(() => {
  const left = ours();
  if (left.length > 0) docker('rm', '-f', ...left);
  docker('network', 'rm', NETWORK);
});

it('checks the daemon, network and image in init', async () => {
  const logger = captureLogger().logger;
  await make({}).init({ pool: 'backend-test', parentId: PARENT, logger });
});

it('reports the exit code and output of a runner that exits, and removes it', async () => {
  const runner = await make(node("console.log('hi'); process.exit(3)")).start(launch());
  const exit = await runner.exited;
  expect(exit).toMatchObject({ code: 3, logTail: ['hi'] });
  expect(ours()).toEqual([]);
});

it('stops a runner gracefully, and kills one that ignores SIGTERM', async () => {
  const polite = node("process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1e3)");
  const stubborn = node("process.on('SIGTERM', () => {}); setInterval(() => {}, 1e3)");
  const [a, b] = await Promise.all([make(polite).start(launch()), make(stubborn).start(launch())]);
  await new Promise((resolve) => setTimeout(resolve, 300));

  await Promise.all([a.stop(3000), b.stop(1000)]);
  await expect(a.exited).resolves.toMatchObject({ code: 0 });
  await expect(b.exited).resolves.toMatchObject({ code: 137 });
  expect(ours()).toEqual([]);
});

it('reports an OOM kill and keeps the container with keepRunners', async () => {
  const hog = make({
    ...node('const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))'),
    hostConfig: { Memory: 64 * 1024 * 1024, MemorySwap: 64 * 1024 * 1024 },
    keepRunners: true,
  });
  const runner = await hog.start(launch());
  await expect(runner.exited).resolves.toMatchObject({ code: 137, oomKilled: true });
  expect(ours()).toEqual([runner.backendId.slice(0, 12)]);
  docker('rm', '-f', runner.backendId);
});

it('turns a name clash into a BootError and a bad command into a BootError', async () => {
  const sleeper = make(node('setTimeout(() => {}, 60e3)'));
  const first = launch();
  const runner = await sleeper.start(first);
  await expect(sleeper.start({ ...first })).rejects.toThrow(/already exists/);
  await runner.stop(0);

  const error = await make({ cmd: ['no-such-binary'] }).start(launch()).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BootError);
  expect((error as Error).message).toContain('no-such-binary');
});

it('boots 20 runners at once and removes them all on stop', async () => {
  const sleeper = make(node('setTimeout(() => {}, 60e3)'));
  const runners = await Promise.all(Array.from({ length: 20 }, () => sleeper.start(launch())));
  expect(new Set(runners.map((r) => r.backendId)).size).toBe(20);
  await Promise.all(runners.map((runner) => runner.stop(0)));
  expect(ours()).toEqual([]);
});
