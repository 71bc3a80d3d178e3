import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { docker, inspect, listContainers, waitFor } from './support/docker';
import { MinimalRig } from './support/minimal-rig';
import type { ParentContainer } from './support/parent-container';

// Real calls through a parent container of the minimal app (test-apps/minimal), started the
// way a user starts it: its own network, the Docker socket mounted, image and network from
// FLAME_DOCKER_IMAGE and FLAME_DOCKER_NETWORK. Runs with `npm run test:docker`.

interface Roll {
  value: number;
  hostname: string;
  runnerId: string;
}

interface Burst {
  calls: number;
  runners: string[];
  peakRunners: number;
}

interface RunnerInspect {
  Config: { Labels: Record<string, string>; Env: string[]; Hostname: string };
  HostConfig: { Memory: number; NanoCpus: number; NetworkMode: string; AutoRemove: boolean };
}

const rig = MinimalRig.use('calls');
const IDLE_MS = 2_000;
const HOST_CONFIG = { Memory: 256 * 1024 * 1024, NanoCpus: 500_000_000 };
const figures: Record<string, string> = {};
let parent: ParentContainer;

jest.setTimeout(60_000);

beforeAll(async () => {
  parent = await rig.startParent({
    MINIMAL_IDLE_MS: String(IDLE_MS),
    // Two calls per runner, so twelve calls need more runners than max (2) allows.
    MINIMAL_MAX_CONCURRENCY: '2',
    FLAME_DOCKER_HOST_CONFIG: JSON.stringify(HOST_CONFIG),
  });
});

afterAll(() => {
  const width = Math.max(...Object.keys(figures).map((key) => key.length));
  const table = Object.entries(figures).map(([key, value]) => `  ${key.padEnd(width)}  ${value}`);
  console.log(`Docker backend figures (minimal app):\n${table.join('\n')}`);
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

it('runs the first call of an empty pool in a runner container, not in the parent', async () => {
  const reply = await parent.call<Roll>('tasks/work#roll', [0]);

  if (!reply.ok) throw new Error(`call failed: ${reply.error.message}\n${parent.tail()}`);
  expect(reply.value.hostname).not.toBe(parent.hostname);
  expect(reply.value.hostname).toBe(reply.value.runnerId);
  expect(reply.value.runnerId).toMatch(new RegExp(`^flame-${rig.pool}-[0-9a-f]{12}$`));
  expect(typeof reply.value.value).toBe('number');
  figures['empty pool to first result (parent side)'] = `${reply.ms} ms`;
});

it('serves warm calls on the runner it has', async () => {
  const replies = [];
  for (let i = 0; i < 15; i++) replies.push(await parent.call<Roll>('tasks/work#ping'));

  const hosts = new Set(replies.map((reply) => (reply.ok ? reply.value.hostname : 'failed')));
  expect(hosts.size).toBe(1);
  expect(rig.runners(parent)).toHaveLength(1);
  figures['warm call round trip (median of 15)'] = `${median(replies.map((r) => r.ms))} ms`;
});

it('labels runner containers and gives them the HostConfig the parent asked for', async () => {
  // A call in flight keeps the runner from going idle meanwhile.
  const holding = parent.call<Roll>('tasks/work#roll', [1_500]);
  const [id] = rig.runners(parent);
  const runner = inspect<RunnerInspect>(id);

  expect(runner?.Config.Labels).toMatchObject({
    'flame-node.managed': 'true',
    'flame-node.pool': rig.pool,
    'flame-node.parent-container': parent.id,
    'flame-node.parent-host': parent.hostname,
  });
  expect(runner?.Config.Labels['flame-node.parent']).toMatch(new RegExp(`^${parent.hostname}-`));
  expect(runner?.HostConfig).toMatchObject({
    ...HOST_CONFIG,
    NetworkMode: rig.network,
    AutoRemove: true,
  });
  expect(runner?.Config.Env).toContain('FLAME_RUNNER_REPL=1');
  await expect(holding).resolves.toMatchObject({ ok: true });
});

it('opens a REPL inside the runner agent through docker exec', async () => {
  const holding = parent.call<Roll>('tasks/work#roll', [2_000]);
  const [id] = rig.runners(parent);
  const runnerId = inspect<RunnerInspect>(id)?.Config.Hostname;

  const output = execFileSync(
    'docker',
    ['exec', '-i', id, 'node', '/app/packages/core/dist/attach.js'],
    { input: 'runner.runnerId\nrunner.pool\n.exit\n', encoding: 'utf8', timeout: 15_000 },
  );

  expect(output).toContain(`flame(${runnerId})>`);
  expect(output).toContain(`'${runnerId}'`);
  expect(output).toContain(`'${rig.pool}'`);
  await expect(holding).resolves.toMatchObject({ ok: true });
});

it('never has more than max runner containers under 12 concurrent calls', async () => {
  const counts: number[] = [];
  let done = false;
  const burst = parent.request<Burst>({ op: 'burst', count: 12, ms: 1_000 }).finally(() => {
    done = true;
  });
  while (!done) {
    const ids = await listContainers('{{.ID}}', `label=flame-node.parent-container=${parent.id}`);
    counts.push(ids.length);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const reply = await burst;
  if (!reply.ok) throw new Error(`burst failed: ${reply.error.message}`);
  expect(reply.value.calls).toBe(12);
  expect(reply.value.runners).toHaveLength(2);
  expect(reply.value.peakRunners).toBeLessThanOrEqual(2);
  expect(counts.length).toBeGreaterThan(10);
  expect(Math.max(...counts)).toBe(2);
  figures['12 calls of 1 s, max 2, maxConcurrency 2'] = `${reply.ms} ms`;
});

it('stops idle runners within idleShutdownAfter plus a few seconds', async () => {
  // The burst above has just ended: its runners are idle from now on.
  const started = performance.now();
  await waitFor(
    'the idle runners to go',
    () => (rig.runners(parent).length === 0 ? true : undefined),
    IDLE_MS + 10_000,
    100,
  );
  const gone = Math.round(performance.now() - started);

  expect(gone).toBeLessThan(IDLE_MS + 5_000);
  figures[`idle runners gone (idleShutdownAfter ${IDLE_MS} ms)`] = `${gone} ms`;
});

it('measures a plain docker run of the same image, for comparison', () => {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    docker('run', '--rm', '--network', 'none', rig.imageTag, 'node', '-e', '0');
    times.push(Math.round(performance.now() - started));
  }
  figures['docker run --rm <image> node -e 0 (median of 3)'] = `${median(times)} ms`;
  expect(times).toHaveLength(3);
});
