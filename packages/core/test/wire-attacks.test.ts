import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { Pool } from '@flame-node/core';
import {
  frameBytes,
  lengthPrefix,
  RawPeer,
  readChallenge,
  RecordingBackend,
  responseFrame,
  WIRE_VERSION,
  type Closed,
} from './support/attacker';
import { TASK_ROOT, type WhoAmI } from './support/pools';

/*
 * A real pool with a real runner, and raw sockets from this test on the parent's listener
 * port: peers that stay silent, trickle bytes, announce huge frames, send garbage, forge or
 * replay the handshake. Each must be cut off by the parent within the handshake timeout,
 * without the parent reserving memory for it, while the real runner keeps serving.
 *
 * The runner dials the parent through a recording relay (a tap), so the test holds the
 * exact bytes of a handshake response the parent accepted, ready to be replayed.
 */

const HANDSHAKE_TIMEOUT = 1_000;
// How late a cut-off may come after the timeout on a busy machine.
const SLACK = 600;
// A peer refused for what it sent is dropped at once, well before the timeout.
const PROMPTLY = 500;

const backend = new RecordingBackend({ tap: true });
// The pool's warnings, parsed: they say why the parent refused each connection.
const warnings: Array<{ msg: string; runnerId?: string; reason?: string }> = [];
const logger = pino({ level: 'warn' }, {
  write: (line: string) => void warnings.push(JSON.parse(line)),
});
let pool: Pool;
let port: number;
let cookie: string;
let runner: WhoAmI;
const peers: RawPeer[] = [];

beforeAll(async () => {
  pool = new Pool({
    name: 'wire-attacks',
    max: 1,
    logger,
    taskRoot: TASK_ROOT,
    backend,
    handshakeTimeout: HANDSHAKE_TIMEOUT,
  });
  // One real call, so a runner is up and the listener's port is known.
  runner = await pool.call<WhoAmI>('tasks/basic#whoami');
  port = backend.last.parent.port;
  cookie = backend.last.cookie;
});

afterEach(() => {
  for (const peer of peers.splice(0)) peer.destroy();
});

afterAll(async () => {
  await pool?.close();
  await backend.close();
});

/** Why the parent refused connections since `from` (an index into `warnings`). */
function refusals(from: number): string[] {
  return warnings.slice(from).map((line) => `${line.msg}: ${line.reason ?? line.runnerId}`);
}

async function attacker(): Promise<RawPeer> {
  const peer = await RawPeer.connect(port);
  peers.push(peer);
  return peer;
}

/** The kinds of the frames a peer received (`challenge`, `confirm`...). */
function received(peer: RawPeer): unknown[] {
  return peer.frames.map((values) => (values[0] as { t?: unknown }).t);
}

/**
 * Calls the real runner again and again until `attack` settles: every call must succeed
 * on the same runner process, during the attack and once after it.
 */
async function whileServing<T>(attack: Promise<T>): Promise<T> {
  let over = false;
  const served: number[] = [];
  const calls = (async () => {
    while (!over) {
      served.push((await pool.call<WhoAmI>('tasks/basic#whoami', [], { timeout: 5_000 })).pid);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  // A failed call is reported below, once the attack is over; not as an unhandled rejection.
  calls.catch(() => undefined);

  let result: T;
  try {
    result = await attack;
  } finally {
    over = true;
    await calls;
  }
  served.push((await pool.call<WhoAmI>('tasks/basic#whoami')).pid);
  expect(served.length).toBeGreaterThan(1);
  expect(new Set(served)).toEqual(new Set([runner.pid]));
  return result;
}

function expectCutAtTimeout(closed: Closed): void {
  expect(closed.ms).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT - 50);
  expect(closed.ms).toBeLessThan(HANDSHAKE_TIMEOUT + SLACK);
}

function expectCutPromptly(closed: Closed): void {
  expect(closed.ms).toBeLessThan(PROMPTLY);
}

describe('peers that do not finish the handshake', () => {
  it('cuts off silent peers when the handshake timeout runs out, not before', async () => {
    const seen = warnings.length;
    const silent = await Promise.all(Array.from({ length: 20 }, () => attacker()));

    const closes = await whileServing(Promise.all(silent.map((peer) => peer.closed)));

    closes.forEach(expectCutAtTimeout);
    expect(refusals(seen)).toHaveLength(20);
    for (const reason of refusals(seen)) expect(reason).toMatch(/in time|timed out/);
    // Each got its challenge and nothing else.
    for (const peer of silent) expect(received(peer)).toEqual(['challenge']);
  });

  it('cuts off peers trickling bytes at the timeout: activity does not buy time', async () => {
    // A small, legal-looking frame, sent one byte per second by one peer and one byte
    // every 50 ms by the other.
    const bytes = frameBytes({ t: 'response', v: WIRE_VERSION, runnerId: 'slow', nonce: Buffer.alloc(32) });
    const drip = async (peer: RawPeer, everyMs: number): Promise<Closed> => {
      for (let i = 0; i < bytes.length && !peer.isClosed; i++) {
        peer.send(bytes.subarray(i, i + 1));
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      return peer.closed;
    };
    const slow = await attacker();
    const fast = await attacker();

    const [slowClosed, fastClosed] = await whileServing(Promise.all([drip(slow, 1_000), drip(fast, 50)]));

    expectCutAtTimeout(slowClosed);
    expectCutAtTimeout(fastClosed);
    expect(received(slow)).toEqual(['challenge']);
    expect(received(fast)).toEqual(['challenge']);
  });
});

// What a peer would send to make a runner exit, were it already trusted.
const CALL_EXIT = { t: 'call', id: 1, task: 'tasks/basic#exit', kind: 'call', timeout: 1_000 };

describe('peers that send what no runner would', () => {
  it('drops a peer announcing a 0xFFFFFFFF-byte frame at once, reserving no memory for it', async () => {
    global.gc?.();
    const before = process.memoryUsage();
    const seen = warnings.length;
    const greedy = await Promise.all(Array.from({ length: 10 }, () => attacker()));

    const closes = await whileServing(
      Promise.all(
        greedy.map((peer) => {
          peer.send(lengthPrefix(0xffffffff));
          return peer.closed;
        }),
      ),
    );

    const after = process.memoryUsage();
    closes.forEach(expectCutPromptly);
    expect(refusals(seen)).toHaveLength(10);
    for (const reason of refusals(seen)) expect(reason).toMatch(/4294967295 bytes exceeds the limit of 1024/);
    expect(after.rss - before.rss).toBeLessThan(50 * 1024 * 1024);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(50 * 1024 * 1024);
  });

  it('drops a peer announcing a frame just over the handshake limit (1 KiB)', async () => {
    const peer = await attacker();
    peer.send(lengthPrefix(1_025));
    peer.send(Buffer.alloc(1_025, 0x61));

    expectCutPromptly(await peer.closed);
    expect(received(peer)).toEqual(['challenge']);
  });

  it.each([
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')],
    ['a framed, undecodable payload', Buffer.from([0, 0, 0, 2, 0x92, 0x01])],
    ['a msgpack array announcing 2^32-1 items', Buffer.from([0, 0, 0, 5, 0xdd, 0xff, 0xff, 0xff, 0xff])],
    ['a msgpack str32 announcing 4 GiB', Buffer.from([0, 0, 0, 6, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])],
    ['a bare number instead of a response', frameBytes(42)],
    ['a call message instead of a response', frameBytes(CALL_EXIT, [0])],
    ['a flood of small frames', Buffer.concat(Array.from({ length: 1_000 }, () => frameBytes({ t: 'r' })))],
  ])('drops a peer sending %s at once', async (_name, bytes) => {
    const peer = await attacker();
    await readChallenge(peer);
    const seen = warnings.length;

    peer.send(bytes);

    expectCutPromptly(await peer.closed);
    expect(received(peer)).toEqual(['challenge']);
    expect(refusals(seen)).toEqual([expect.stringMatching(/^connection refused: handshake failed: /)]);
  });
});

describe('forged and replayed handshakes', () => {
  it('drops a peer answering the challenge with a MAC keyed by the wrong cookie', async () => {
    const peer = await attacker();
    const challenge = await readChallenge(peer);

    const seen = warnings.length;
    peer.send(responseFrame(`${cookie}-but-wrong`, challenge, 'flame-wire-attacks-forged'));

    expectCutPromptly(await peer.closed);
    expect(refusals(seen)).toEqual(['connection refused: handshake failed: runner failed the cookie check']);
    // No confirm: the parent proves nothing to a peer that proved nothing.
    expect(received(peer)).toEqual(['challenge']);
  });

  it('drops a peer replaying the real runner\'s recorded handshake response', async () => {
    // The response the real runner sent when it connected, recorded on the way: the
    // parent accepted it then, as the runner has served every call since.
    const recorded = backend.last.tap!.firstRunnerFrame();
    expect(recorded.toString('latin1')).toContain(runner.runnerId);
    const seen = warnings.length;

    const replayer = await attacker();
    await readChallenge(replayer);
    replayer.send(recorded);

    expectCutPromptly(await replayer.closed);
    expect(received(replayer)).toEqual(['challenge']);
    expect(refusals(seen)).toEqual(['connection refused: handshake failed: runner failed the cookie check']);
  });

  it('drops a peer replaying a response it made with the right cookie on an earlier connection', async () => {
    const recorder = await attacker();
    const response = responseFrame(cookie, await readChallenge(recorder), 'flame-wire-attacks-recorded');
    recorder.send(response);
    await recorder.closed;
    const seen = warnings.length;

    const replayer = await attacker();
    await readChallenge(replayer);
    replayer.send(response);

    expectCutPromptly(await replayer.closed);
    expect(received(replayer)).toEqual(['challenge']);
    expect(refusals(seen)).toEqual(['connection refused: handshake failed: runner failed the cookie check']);
  });

  it('refuses a valid handshake naming a runner the parent is not expecting', async () => {
    const seen = warnings.length;
    const stranger = await attacker();
    stranger.send(responseFrame(cookie, await readChallenge(stranger), 'flame-wire-attacks-nobody'));

    expectCutPromptly(await stranger.closed);
    // The MAC was good; what it lacked was a runner being booted under that id.
    expect(refusals(seen)).toEqual([
      'connection refused: handshake failed: no runner flame-wire-attacks-nobody is booting',
    ]);
    // It was never sent a call.
    expect(received(stranger)).not.toContain('call');
  });

  it('refuses a valid handshake claiming the id of the runner already connected', async () => {
    const seen = warnings.length;
    const impostor = await attacker();
    impostor.send(responseFrame(cookie, await readChallenge(impostor), runner.runnerId));

    await whileServing(impostor.closed.then(expectCutPromptly));
    expect(refusals(seen)).toEqual([`connection refused: handshake failed: no runner ${runner.runnerId} is booting`]);
    expect(received(impostor)).not.toContain('call');
  });

  it('leaves the pool with its one original runner after every attack', async () => {
    expect(await pool.call<WhoAmI>('tasks/basic#whoami')).toEqual(runner);
    expect(pool.stats()).toMatchObject({ runners: 1, booting: 0 });
    expect(backend.launches).toHaveLength(1);
  });
});
