import * as os from 'node:os';
import { DockerBackend } from '../src';
import { FakeEngine } from './fake-engine';
import { captureLogger, isolateEnvironment } from './helpers';

isolateEnvironment();

let fake: FakeEngine;
beforeEach(async () => {
  fake = await FakeEngine.unix();
});
afterEach(() => fake.close());

type State = 'running' | 'exited' | 'created';

/** A runner container of `parent`, labelled the way the backend labels its runners. */
function runner(name: string, parent: string, host: string, more = {}, state: State = 'running') {
  return fake.addContainer({
    name,
    state,
    labels: {
      'flame-node.managed': 'true',
      'flame-node.pool': 'p',
      'flame-node.runner': name,
      'flame-node.parent': parent,
      'flame-node.parent-host': host,
      ...more,
    },
  });
}

async function initAsParentMe() {
  const { logger, records } = captureLogger();
  const socketPath = fake.socketPath;
  const backend = new DockerBackend({ image: 'app', network: 'flame-net', socketPath });
  await backend.init({ pool: 'p', parentId: 'parent-me', logger });
  return records;
}

const left = (container: { id: string }) => fake.find(container.id) !== undefined;

describe('orphan sweep in init()', () => {
  it('removes only the runners of dead parents', async () => {
    fake.addContainer({ name: 'live-parent', state: 'running' });
    fake.addContainer({ name: 'stopped-parent', state: 'exited' });
    const restarted = fake.addContainer({ name: 'restarted', startedAt: '2024-06-01T10:00Z' });
    const parentContainer = (startedAt: string) => ({
      'flame-node.parent-container': restarted.id,
      'flame-node.parent-started': startedAt,
    });

    const mine = runner('mine-1', 'parent-me', 'nowhere');
    const live = runner('live-1', 'p-live', 'live-parent');
    const gone = runner('gone-1', 'p-gone', 'vanished-host');
    const goneExited = runner('gone-2', 'p-gone', 'vanished-host', {}, 'exited');
    const stopped = runner('stopped-1', 'p-stopped', 'stopped-parent');
    const before = runner('restart-1', 'p-old', 'restarted', parentContainer('2024-05-01T10:00Z'));
    const current = runner('restart-2', 'p-new', 'restarted', parentContainer('2024-06-01T10:00Z'));
    const foreignLabels = { 'flame-node.parent': 'p-gone' };
    const foreign = fake.addContainer({ name: 'unrelated', labels: foreignLabels });

    const records = await initAsParentMe();

    // A parent host with no container here may be a live process elsewhere: its running
    // runner stays (it stops by itself when its parent goes), its exited one is removed.
    expect([mine, live, current, foreign, gone].map(left)).toEqual([true, true, true, true, true]);
    expect([goneExited, stopped, before].map(left)).toEqual([false, false, false]);
    const removed = records.filter((r) => r.msg === 'removed orphan runner').map((r) => r.runnerId);
    expect(removed.sort()).toEqual(['gone-2', 'restart-1', 'stopped-1']);
  });

  it('judges a plain-process parent on this host by its pid', async () => {
    const host = os.hostname();
    const parentPid = { 'flame-node.parent-pid': String(process.ppid) };
    const alive = runner('proc-1', 'p-proc', host, parentPid);
    const dead = runner('proc-2', 'p-dead-proc', host, { 'flame-node.parent-pid': '4194304' });

    await initAsParentMe();

    expect(left(alive)).toBe(true);
    expect(left(dead)).toBe(false);
  });

  it('leaves runners alone when it cannot tell whether their parent lives', async () => {
    fake.routes.push((req, res) => {
      if (req.path !== '/containers/flaky-parent/json') return false;
      res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"message":"daemon busy"}');
      return true;
    });
    const unsure = runner('unsure-1', 'p-unsure', 'flaky-parent');

    await initAsParentMe();
    expect(left(unsure)).toBe(true);
  });
});
