import { DockerBackend } from '../src';
import { FakeEngine } from './fake-engine';
import { captureLogger, isolateEnvironment } from './helpers';

isolateEnvironment();

let fake: FakeEngine;
beforeEach(async () => {
  fake = await FakeEngine.unix();
});
afterEach(() => fake.close());

function runner(name: string, labels: Record<string, string>, state: 'running' | 'exited' | 'created' = 'running') {
  return fake.addContainer({
    name,
    state,
    labels: { 'flame-node.managed': 'true', 'flame-node.pool': 'p', 'flame-node.runner': name, ...labels },
  });
}

describe('orphan sweep in init()', () => {
  it('removes only the runners of dead parents', async () => {
    fake.addContainer({ name: 'live-parent', state: 'running' });
    fake.addContainer({ name: 'stopped-parent', state: 'exited' });
    const restarted = fake.addContainer({ name: 'restarted-parent', startedAt: '2024-06-01T10:00:00Z' });

    const mine = runner('mine-1', { 'flame-node.parent': 'parent-me', 'flame-node.parent-host': 'nowhere' });
    const live = runner('live-1', { 'flame-node.parent': 'p-live', 'flame-node.parent-host': 'live-parent' });
    const gone = runner('gone-1', { 'flame-node.parent': 'p-gone', 'flame-node.parent-host': 'vanished-host' });
    const goneExited = runner('gone-2', { 'flame-node.parent': 'p-gone', 'flame-node.parent-host': 'vanished-host' }, 'exited');
    const stopped = runner('stopped-1', { 'flame-node.parent': 'p-stopped', 'flame-node.parent-host': 'stopped-parent' });
    const before = runner('restart-1', {
      'flame-node.parent': 'p-before-restart',
      'flame-node.parent-host': 'restarted-parent',
      'flame-node.parent-container': restarted.id,
      'flame-node.parent-started': '2024-05-01T10:00:00Z',
    });
    const current = runner('restart-2', {
      'flame-node.parent': 'p-after-restart',
      'flame-node.parent-host': 'restarted-parent',
      'flame-node.parent-container': restarted.id,
      'flame-node.parent-started': '2024-06-01T10:00:00Z',
    });
    const foreign = fake.addContainer({ name: 'unrelated', labels: { 'flame-node.parent': 'p-gone' } });

    const { logger, records } = captureLogger();
    const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath: fake.socketPath });
    await backend.init({ pool: 'p', parentId: 'parent-me', logger });

    const left = (c: { id: string }) => fake.find(c.id) !== undefined;
    expect([mine, live, current, foreign].map(left)).toEqual([true, true, true, true]);
    expect([gone, goneExited, stopped, before].map(left)).toEqual([false, false, false, false]);

    const removed = records.filter((r) => r.msg === 'removed orphan runner').map((r) => r.runnerId);
    expect(removed.sort()).toEqual(['gone-1', 'gone-2', 'restart-1', 'stopped-1']);
  });

  it('keeps the runners of a live plain-process parent on this host, judged by its pid', async () => {
    const host = require('node:os').hostname();
    const alive = runner('proc-1', { 'flame-node.parent': 'p-proc', 'flame-node.parent-host': host, 'flame-node.parent-pid': String(process.ppid) });
    const dead = runner('proc-2', { 'flame-node.parent': 'p-dead-proc', 'flame-node.parent-host': host, 'flame-node.parent-pid': '4194304' });

    const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath: fake.socketPath });
    await backend.init({ pool: 'p', parentId: 'parent-me', logger: captureLogger().logger });

    expect(fake.find(alive.id)).toBeDefined();
    expect(fake.find(dead.id)).toBeUndefined();
  });

  it('leaves runners alone when it cannot tell whether their parent lives', async () => {
    fake.routes.push((req, res) => {
      if (req.path !== '/containers/flaky-parent/json') return false;
      res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"message":"daemon busy"}');
      return true;
    });
    const unsure = runner('unsure-1', { 'flame-node.parent': 'p-unsure', 'flame-node.parent-host': 'flaky-parent' });

    const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath: fake.socketPath });
    await backend.init({ pool: 'p', parentId: 'parent-me', logger: captureLogger().logger });
    expect(fake.find(unsure.id)).toBeDefined();
  });
});
