import { performance } from 'node:perf_hooks';
import { containers, docker, inspect, waitFor } from './support/docker';
import { MinimalRig } from './support/minimal-rig';
import type { ParentContainer, Reply } from './support/parent-container';
import type { Report, Stats } from './support/app-shapes';

// How calls fail through a parent container of the minimal app when runners die, boot
// badly or run out of memory, and what a killed parent leaves behind (nothing).


const rig = MinimalRig.use('failures');
const MiB = 1024 * 1024;
let parent: ParentContainer;

jest.setTimeout(60_000);

beforeAll(async () => {
  parent = await rig.startParent();
});

function failed<T>(reply: Reply<T>) {
  if (reply.ok) throw new Error(`expected a failure; got ${JSON.stringify(reply.value)}`);
  return reply.error;
}

function succeeded<T>(reply: Reply<T>): T {
  if (!reply.ok) throw new Error(`call failed: ${reply.error.message}\n${parent.tail()}`);
  return reply.value;
}

/** Starts a long call and resolves once it runs on a runner, with that runner's container. */
async function callInFlight(): Promise<{ reply: Promise<Reply<Report>>; container: string }> {
  const reply = parent.call<Report>('tasks/work#roll', [30_000], { timeout: 60_000 });
  await waitFor(
    'the call to run on a runner',
    async () => {
      const stats = await parent.request<Stats>({ op: 'stats' });
      return stats.ok && stats.value.busy === 1 ? true : undefined;
    },
    30_000,
  );
  const [container] = rig.runners(parent);
  return { reply, container };
}

describe('a runner container killed mid-call', () => {
  let error: ReturnType<typeof failed>;
  let container: string;

  it('rejects that call promptly with RunnerExitedError', async () => {
    const inFlight = await callInFlight();
    container = inFlight.container;

    const killed = performance.now();
    docker('kill', container);
    error = failed(await inFlight.reply);
    const ms = Math.round(performance.now() - killed);

    expect(error).toMatchObject({ name: 'RunnerExitedError', code: 'FLAME_ERR_RUNNER_EXITED' });
    expect(error.message).toContain(error.runnerId);
    expect(ms).toBeLessThan(3_000);
  });

  it('leaves the pool working: the next call gets a new runner', async () => {
    const next = succeeded(await parent.call<Report>('tasks/work#ping'));
    expect(inspect(container)).toBeUndefined();
    expect(next.runnerId).not.toBe(error.runnerId);
  });

  // A `docker kill` is SIGKILL (exit 137) with OOMKilled false: the message must not blame
  // memory.
  it('does not call a docker kill an out-of-memory kill', () => {
    expect(error.exit).toMatchObject({ code: 137, oomKilled: false });
    expect(error.message).not.toMatch(/memory|OOM/i);
  });
});

it('removes every runner within seconds when the parent is killed', async () => {
  const holder = await rig.startParent({}, ['hold', '2'], 'holding');
  const runners = rig.runners(holder);
  expect(runners).toHaveLength(2);

  const killed = performance.now();
  holder.kill();
  await waitFor(
    'the runners of the killed parent to go',
    () => (rig.runners(holder).length === 0 ? true : undefined),
    15_000,
  );
  expect(performance.now() - killed).toBeLessThan(5_000);
});

it('fails a call with a prompt BootError when the runner command exits 3', async () => {
  const reply = await parent.call('tasks/work#roll', [0], { pool: 'broken' });
  const error = failed(reply);

  expect(error).toMatchObject({ name: 'BootError', code: 'FLAME_ERR_BOOT', exitCode: 3 });
  expect(error.logTail).toContain('minimal: this runner command fails on purpose');
  expect(error.message).toContain('exit code 3');
  expect(error.message).toContain('minimal: this runner command fails on purpose');
  expect(reply.ms).toBeLessThan(2_000);
  await waitFor(
    'the failed runner container to go',
    () => (containers(`label=flame-node.pool=${rig.pool}-broken`).length === 0 ? true : undefined),
    5_000,
  );
});

describe('a runner limited to 64 MiB whose task allocates 512 MiB', () => {
  let first: Report;

  it('runs with the memory limit it was given', async () => {
    first = succeeded(await parent.call<Report>('tasks/work#ping', [], { pool: 'memory' }));
    const runner = inspect<{ HostConfig: { Memory: number; MemorySwap: number } }>(first.runnerId);
    expect(runner?.HostConfig).toMatchObject({ Memory: 64 * MiB, MemorySwap: 64 * MiB });
  });

  it('rejects the call with RunnerExitedError saying it was killed for memory', async () => {
    const error = failed(await parent.call('tasks/memory#hog', [512], { pool: 'memory' }));

    expect(error).toMatchObject({ name: 'RunnerExitedError', runnerId: first.runnerId });
    expect(error.message).toMatch(/killed for memory/);
  });

  it('serves the next call on a new runner, and the dead container is gone', async () => {
    const next = succeeded(await parent.call<Report>('tasks/work#ping', [], { pool: 'memory' }));

    expect(next.runnerId).not.toBe(first.runnerId);
    await waitFor(
      'the killed runner container to be removed',
      () => (inspect(first.runnerId) === undefined ? true : undefined),
      5_000,
    );
  });
});
