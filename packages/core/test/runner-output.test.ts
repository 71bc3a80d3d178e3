import pino from 'pino';
import { afterEach, describe, expect, it } from '@jest/globals';
import { closePools, testPool, waitFor } from './support/pools';

afterEach(closePools);

type Record = { level: number; msg: string; stream?: string; runnerId?: string };

describe("a task's own output", () => {
  it('reaches the parent log: stderr at warn, stdout at info, with the runner id', async () => {
    const records: Record[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line)) });
    const pool = testPool({ logger });

    await pool.call('tasks/basic#say', ['hello']);
    const line = (msg: string) => records.find((record) => record.msg === msg);
    expect(await waitFor(() => line('err: hello') !== undefined && line('out: hello') !== undefined, 3_000)).toBe(true);

    expect(line('err: hello')).toMatchObject({ level: 40, stream: 'stderr' });
    expect(line('out: hello')).toMatchObject({ level: 30, stream: 'stdout' });
    expect(line('out: hello')?.runnerId).toMatch(/^flame-test-/);
  });
});
