import { afterEach, describe, expect, it } from '@jest/globals';
import { FlameError, RemoteError } from '@flame-node/core';
import { closePools, testPool } from './support/pools';

afterEach(closePools);

describe('a task that throws', () => {
  it('rejects with RemoteError carrying the name, message, code and remote stack', async () => {
    const pool = testPool({ max: 1 });
    const error = await pool.call('tasks/basic#fail', ['disk on fire', 'E_DISK']).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toBeInstanceOf(FlameError);
    const remote = error as RemoteError;
    expect(remote.code).toBe('FLAME_ERR_REMOTE');
    expect(remote.message).toBe('disk on fire');
    expect(remote.remoteName).toBe('TypeError');
    expect(remote.remoteCode).toBe('E_DISK');
    expect(remote.task).toBe('tasks/basic#fail');
    // The remote stack names the fixture's file: it came from the runner.
    expect(remote.remoteStack).toMatch(/fixtures[\\/]tasks[\\/]basic\.js/);
    expect(remote.stack).toContain(remote.remoteStack!);
    // It ends naming the task; flame-node's own receive path is not part of it.
    expect(remote.stack).toMatch(/\n {4}at <flame call> tasks\/basic#fail$/);
  });

  it('does the same for an async rejection, and the runner keeps serving', async () => {
    const pool = testPool({ max: 1 });
    const before = await pool.call<{ pid: number }>('tasks/basic#whoami');
    const error = (await pool.call('tasks/basic#rejectLater', ['nope']).catch((e: unknown) => e)) as RemoteError;
    expect(error.remoteName).toBe('RangeError');
    expect(error.message).toBe('nope');
    const after = await pool.call<{ pid: number }>('tasks/basic#whoami');
    expect(after.pid).toBe(before.pid);
  });
});
