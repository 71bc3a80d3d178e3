import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from '@jest/globals';
import { HandshakeError, ProtocolError } from '@flame-node/core';
import { Channel } from '../src/wire/channel';
import { acceptHandshake, offerHandshake } from '../src/wire/handshake';
import { HANDSHAKE_MAX_FRAME, PROTOCOL_VERSION } from '../src/wire/protocol';
import { handshakeMac } from './support/attacker';

/*
 * The handshake on its own: a parent Channel and a runner Channel over a real TCP
 * connection on 127.0.0.1, each half driven by the real code or by a hand-written peer.
 */

const COOKIE = 'the-right-cookie-0123456789';
const TIMEOUT = 400;

interface Pair {
  parent: Channel;
  runner: Channel;
  /** Every byte each side wrote, as the other side received it. */
  sentByParent: Buffer[];
  sentByRunner: Buffer[];
}

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function channelPair(): Promise<Pair> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as { port: number };

  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect({ host: '127.0.0.1', port });
  sockets.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const serverSide = await accepted;
  sockets.push(serverSide);

  const sentByParent: Buffer[] = [];
  const sentByRunner: Buffer[] = [];
  client.on('data', (chunk: Buffer) => sentByParent.push(chunk));
  serverSide.on('data', (chunk: Buffer) => sentByRunner.push(chunk));
  return {
    parent: new Channel(serverSide, HANDSHAKE_MAX_FRAME),
    runner: new Channel(client, HANDSHAKE_MAX_FRAME),
    sentByParent,
    sentByRunner,
  };
}

/** Settles to the error `promise` rejected with, and how long it took from now. */
async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected the handshake to fail');
}

/** The next frame the channel receives, as the handshake code would see it. */
function nextFrame(channel: Channel): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    channel.setHandler((header) => {
      channel.setHandler(null);
      resolve(header as Record<string, unknown>);
    });
  });
}

describe('the cookie handshake', () => {
  it('succeeds with the same cookie on both sides and hands the runner id to the parent', async () => {
    const { parent, runner, sentByParent, sentByRunner } = await channelPair();

    const [runnerId] = await Promise.all([
      acceptHandshake(parent, COOKIE, TIMEOUT),
      offerHandshake(runner, COOKIE, 'flame-test-abc123', TIMEOUT),
    ]);

    expect(runnerId).toBe('flame-test-abc123');
    // Frames after the handshake reach the next owner of the channel.
    const received = nextFrame(parent);
    runner.send({ t: 'ready', pid: 1, hostname: 'h', node: 'v20' });
    expect(await received).toEqual({ t: 'ready', pid: 1, hostname: 'h', node: 'v20' });
    // The cookie itself never crossed the wire, in either direction.
    const wire = Buffer.concat([...sentByParent, ...sentByRunner]);
    expect(wire.includes(Buffer.from(COOKIE))).toBe(false);
    expect(parent.closed || runner.closed).toBe(false);
  });

  it('accepts a runner written from the protocol notes alone, and confirms with its own MAC', async () => {
    // A positive control for the hand-written MACs that the refusal tests below rely on.
    const { parent, runner } = await channelPair();
    const accepted = acceptHandshake(parent, COOKIE, TIMEOUT);
    const { nonce: np } = await nextFrame(runner);
    const nr = Buffer.alloc(32, 9);
    const confirm = nextFrame(runner);
    const mac = handshakeMac(COOKIE, 'runner', np as Buffer, nr, 'hand-made');
    runner.send({ t: 'response', v: PROTOCOL_VERSION, runnerId: 'hand-made', nonce: nr, mac });

    expect(await accepted).toBe('hand-made');
    expect((await confirm).mac).toEqual(handshakeMac(COOKIE, 'parent', np as Buffer, nr, 'hand-made'));
  });

  it('fails on both sides with HandshakeError when the cookies differ', async () => {
    const { parent, runner } = await channelPair();
    const offered = offerHandshake(runner, 'a-different-cookie', 'flame-test-abc123', TIMEOUT);
    offered.catch(() => undefined);

    const parentSide = await failure(acceptHandshake(parent, COOKIE, TIMEOUT));
    expect(parentSide.error).toBeInstanceOf(HandshakeError);
    expect((parentSide.error as HandshakeError).code).toBe('FLAME_ERR_HANDSHAKE');
    expect((parentSide.error as Error).message).toMatch(/runner failed the cookie check/);

    // The parent drops a peer that failed (as its listener does); the runner learns it
    // at once, not when its own timeout runs out.
    parent.destroy();
    const runnerSide = await failure(offered);
    expect(runnerSide.error).toBeInstanceOf(HandshakeError);
    expect(runnerSide.ms).toBeLessThan(TIMEOUT);
  });

  it('makes the runner refuse a parent that answers with a MAC made from another cookie', async () => {
    const { parent, runner } = await channelPair();
    const offered = offerHandshake(runner, COOKIE, 'flame-test-abc123', TIMEOUT);
    offered.catch(() => undefined);

    // An impostor parent: it sends a challenge and a confirm, but does not hold the cookie.
    const np = Buffer.alloc(32, 1);
    const response = nextFrame(parent);
    parent.send({ t: 'challenge', v: PROTOCOL_VERSION, nonce: np });
    const { nonce } = await response;
    const forged = handshakeMac('not-the-cookie', 'parent', np, nonce as Buffer, 'flame-test-abc123');
    parent.send({ t: 'confirm', mac: forged });

    const { error } = await failure(offered);
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as Error).message).toMatch(/parent failed the cookie check/);
  });

  it("makes the runner refuse its own MAC reflected back as the parent's", async () => {
    const { parent, runner } = await channelPair();
    const offered = offerHandshake(runner, COOKIE, 'flame-test-abc123', TIMEOUT);
    offered.catch(() => undefined);

    const response = nextFrame(parent);
    parent.send({ t: 'challenge', v: PROTOCOL_VERSION, nonce: Buffer.alloc(32, 2) });
    const { mac } = await response;
    parent.send({ t: 'confirm', mac });

    expect((await failure(offered)).error).toBeInstanceOf(HandshakeError);
  });

  it('times the parent out with HandshakeError when the peer never answers', async () => {
    const { parent } = await channelPair();

    const { error, ms } = await failure(acceptHandshake(parent, COOKIE, TIMEOUT));

    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as Error).message).toMatch(/did not finish the handshake in time/);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT - 20);
    expect(ms).toBeLessThan(TIMEOUT + 500);
  });

  it('times the runner out with HandshakeError when the parent never sends its challenge', async () => {
    const { runner } = await channelPair();

    const { error, ms } = await failure(offerHandshake(runner, COOKIE, 'flame-test-abc123', TIMEOUT));

    expect(error).toBeInstanceOf(HandshakeError);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT - 20);
    expect(ms).toBeLessThan(TIMEOUT + 500);
  });

  it('times the runner out when the parent stalls after the response', async () => {
    const { parent, runner } = await channelPair();
    const offered = offerHandshake(runner, COOKIE, 'flame-test-abc123', TIMEOUT);
    parent.send({ t: 'challenge', v: PROTOCOL_VERSION, nonce: Buffer.alloc(32, 3) });

    const { error, ms } = await failure(offered);
    expect(error).toBeInstanceOf(HandshakeError);
    expect(ms).toBeLessThan(TIMEOUT + 500);
  });

  it('refuses a peer of another protocol version, on both sides', async () => {
    const first = await channelPair();
    const offered = offerHandshake(first.runner, COOKIE, 'flame-test-abc123', TIMEOUT);
    first.parent.send({ t: 'challenge', v: PROTOCOL_VERSION + 1, nonce: Buffer.alloc(32) });
    expect((await failure(offered)).error).toBeInstanceOf(HandshakeError);

    const second = await channelPair();
    const accepted = acceptHandshake(second.parent, COOKIE, TIMEOUT);
    const challenge = nextFrame(second.runner);
    const { nonce } = await challenge;
    const nr = Buffer.alloc(32, 4);
    second.runner.send({
      t: 'response',
      v: PROTOCOL_VERSION + 1,
      runnerId: 'r',
      nonce: nr,
      mac: handshakeMac(COOKIE, 'runner', nonce as Buffer, nr, 'r'),
    });
    const { error } = await failure(accepted);
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as Error).message).toContain(`expected a v${PROTOCOL_VERSION} response`);
  });

  it('refuses a response with a runner id longer than 128 characters, even with a good MAC', async () => {
    const { parent, runner } = await channelPair();
    const accepted = acceptHandshake(parent, COOKIE, TIMEOUT);
    const { nonce } = await nextFrame(runner);
    const id = 'r'.repeat(129);
    const nr = Buffer.alloc(32, 5);
    const mac = handshakeMac(COOKIE, 'runner', nonce as Buffer, nr, id);
    runner.send({ t: 'response', v: PROTOCOL_VERSION, runnerId: id, nonce: nr, mac });

    expect((await failure(accepted)).error).toBeInstanceOf(HandshakeError);
  });

  it('treats a body, or a second frame sent before its turn, as a protocol violation', async () => {
    const first = await channelPair();
    const accepted = acceptHandshake(first.parent, COOKIE, TIMEOUT);
    first.runner.send({ t: 'response' }, first.runner.encode(['a body'], 'body'));
    // The parent's channel drops the connection on a bad frame; the handshake sees it close.
    expect((await failure(accepted)).error).toBeInstanceOf(ProtocolError);

    const second = await channelPair();
    const acceptedAgain = acceptHandshake(second.parent, COOKIE, TIMEOUT);
    second.runner.send({ t: 'response' });
    second.runner.send({ t: 'response' });
    expect((await failure(acceptedAgain)).error).toBeInstanceOf(ProtocolError);
  });
});
