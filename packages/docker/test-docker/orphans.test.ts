import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { docker, inspect, waitFor } from './support/docker';
import { MinimalRig } from './support/minimal-rig';

// The orphan sweep a parent container runs before its first runner (DockerBackend.init),
// against real containers: runners of a dead parent go, runners of a live one stay.

const rig = MinimalRig.use('orphans');

jest.setTimeout(60_000);

/** A container labelled like a runner of some other parent, idling until removed. */
function fakeRunner(labels: Record<string, string>): string {
  const runnerId = `fake-${rig.pool}-${randomBytes(4).toString('hex')}`;
  const all = {
    'flame-node.managed': 'true',
    'flame-node.pool': rig.pool,
    'flame-node.runner': runnerId,
    ...labels,
  };
  const flags = Object.entries(all).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
  return docker(
    'run', '-d', '--network', 'none', '--name', runnerId, ...flags,
    rig.imageTag, 'node', '-e', 'setInterval(() => {}, 1000)',
  );
}

/** Starts a parent and makes one call, so its backend has run init() and the sweep. */
async function parentThatSwept(): Promise<void> {
  const parent = await rig.startParent();
  const reply = await parent.call('tasks/work#ping');
  if (!reply.ok) throw new Error(`call failed: ${reply.error.message}\n${parent.tail()}`);
  await parent.close();
}

it('removes the runners of a parent container that is gone', async () => {
  const goneParent = docker('create', rig.imageTag, 'true');
  docker('rm', goneParent);
  const orphan = fakeRunner({
    'flame-node.parent': `${goneParent.slice(0, 12)}-1-0badcafe`,
    'flame-node.parent-host': goneParent.slice(0, 12),
    'flame-node.parent-container': goneParent,
    'flame-node.parent-started': new Date().toISOString(),
  });

  await parentThatSwept();
  await waitFor('the orphan to be removed', () => (inspect(orphan) ? undefined : true), 5_000);
});

it('leaves alone the runners of a parent container that still runs', async () => {
  const live = await rig.startParent();
  const info = inspect<{ State: { StartedAt: string } }>(live.id);
  const child = fakeRunner({
    'flame-node.parent': `${live.hostname}-1-0badcafe`,
    'flame-node.parent-host': live.hostname,
    'flame-node.parent-container': live.id,
    'flame-node.parent-started': info?.State.StartedAt ?? '',
  });

  await parentThatSwept();
  expect(inspect(child)).toBeDefined();
  docker('rm', '-f', child);
});

// A parent may run as a plain process on the Docker host, with its runners in containers
// (this very test file's process stands in for it). A parent in a container cannot see that
// process, so it must leave its running runners alone.
it('leaves alone the runners of a live parent process on the Docker host', async () => {
  const child = fakeRunner({
    'flame-node.parent': `${hostname()}-${process.pid}-0badcafe`,
    'flame-node.parent-host': hostname(),
    'flame-node.parent-pid': String(process.pid),
  });

  await parentThatSwept();
  expect(inspect(child)).toBeDefined();
  docker('rm', '-f', child);
});
