import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { burst } from './demo';
import { describeError, emit, settle } from './output';
import { POOL_NAMES, type PoolKind, type Pools } from './pools';

/**
 * One command of `cli.js serve`, as a JSON line on stdin. Each gets one reply line:
 * `{"event":"reply","id":...,"ok":true,"ms":...,"value":...}` or `"ok":false` with `error`.
 *
 * - `{"id":1,"op":"call","task":"tasks/work#roll","args":[1000],"timeout":5000,"pool":"main"}`
 * - `{"id":2,"op":"burst","count":10,"ms":1000}`: that many `roll` calls at once
 * - `{"id":3,"op":"stats"}`
 * - `{"id":4,"op":"close"}`: closes every pool, replies, and exits
 * `pool` is `main` (the default), `memory` or `broken`; see pools.ts.
 */
export interface ServeCommand {
  id: number;
  op: 'call' | 'burst' | 'stats' | 'close';
  pool?: PoolKind;
  task?: string;
  args?: unknown[];
  timeout?: number;
  count?: number;
  ms?: number;
}

/**
 * Serves commands from `input` until it ends or a `close` comes, then closes the pools.
 * Commands run concurrently: a reply may overtake the reply to an earlier command.
 */
export async function serve(pools: Pools, input: Readable): Promise<void> {
  emit({ event: 'ready', hostname: hostname(), pools: POOL_NAMES });
  const running = new Set<Promise<void>>();

  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    let command: ServeCommand;
    try {
      command = JSON.parse(line) as ServeCommand;
    } catch (error) {
      emit({ event: 'reply', id: null, ok: false, ms: 0, error: describeError(error) });
      continue;
    }
    if (command.op === 'close') {
      await Promise.all(running);
      await pools.close();
      emit({ event: 'reply', id: command.id, ok: true, ms: 0, value: null });
      // The process ends once nothing holds it; stdin would, until its writer closes it.
      input.destroy();
      return;
    }
    const done = run(pools, command).then((outcome) => {
      emit({ event: 'reply', id: command.id, ...outcome });
    });
    running.add(done);
    void done.finally(() => running.delete(done));
  }
  // stdin ended: whoever drove us is gone, so stop what runs rather than wait for it.
  await pools.terminate();
}

function run(pools: Pools, command: ServeCommand): ReturnType<typeof settle> {
  const pool = () => pools.get(command.pool ?? 'main');
  switch (command.op) {
    case 'call': {
      const timeout = command.timeout === undefined ? {} : { timeout: command.timeout };
      return settle(pool().call(command.task ?? '', command.args ?? [], timeout));
    }
    case 'burst':
      return settle(burst(pool(), command.count ?? 10, command.ms ?? 1_000));
    case 'stats':
      return settle(Promise.resolve(pool().stats()));
    default:
      return settle(Promise.reject(new Error(`unknown op ${JSON.stringify(command.op)}`)));
  }
}
