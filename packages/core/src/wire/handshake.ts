import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Channel } from './channel';
import { HandshakeError, ProtocolError } from '../errors';
import { PROTOCOL_VERSION, type HandshakeFrame } from './protocol';

/*
 * Mutual challenge/response, keyed by the cookie, which itself never crosses the wire:
 *
 *   parent -> runner   challenge { v, nonce: Np }
 *   runner -> parent   response  { v, runnerId, nonce: Nr, mac: H("runner", Np, Nr, id) }
 *   parent -> runner   confirm   { mac: H("parent", Np, Nr, id) }
 *
 * Both nonces are fresh, so a recorded response cannot be replayed to a new challenge, and
 * the direction label stops a reflected MAC from passing for the other side's.
 */
const NONCE_BYTES = 32;
const MAX_RUNNER_ID = 128;

function mac(cookie: string, role: 'runner' | 'parent', np: Buffer, nr: Buffer, id: string) {
  return createHmac('sha256', cookie)
    .update(`flame-node/${role}/v${PROTOCOL_VERSION}\0`)
    .update(np)
    .update(nr)
    .update(id)
    .digest();
}

function sameMac(expected: Buffer, received: unknown): boolean {
  return (
    Buffer.isBuffer(received) &&
    received.length === expected.length &&
    timingSafeEqual(expected, received)
  );
}

/**
 * Reads the handshake's frames in order. A peer that sends more than the one frame the
 * handshake expects next is breaking the protocol, so nothing piles up before it is trusted.
 */
class HandshakeReader {
  readonly #channel: Channel;
  readonly #deadline: number;
  #queue: unknown[] = [];
  #wake: (() => void) | null = null;

  constructor(channel: Channel, timeoutMs: number) {
    this.#channel = channel;
    this.#deadline = Date.now() + timeoutMs;
    channel.setHandler((message, _body, hasBody) => {
      if (hasBody) throw new ProtocolError('unexpected body during the handshake');
      this.#queue.push(message);
      this.#wake?.();
    });
  }

  async next(): Promise<HandshakeFrame> {
    const channel = this.#channel;
    if (this.#queue.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          clearTimeout(timer);
          channel.off('close', onClose);
          this.#wake = null;
          if (error) reject(error);
          else resolve();
        };
        const onClose = (error: Error | undefined) =>
          done(error ?? new HandshakeError('connection closed during the handshake'));
        const timer = setTimeout(
          () => done(new HandshakeError('peer did not finish the handshake in time')),
          Math.max(0, this.#deadline - Date.now()),
        );
        channel.on('close', onClose);
        this.#wake = () => done();
      });
    }
    if (this.#queue.length > 1) throw new ProtocolError('unexpected frames during the handshake');

    const message = this.#queue.shift();
    if (typeof message !== 'object' || message === null || !('t' in message)) {
      throw new ProtocolError('malformed handshake frame');
    }
    return message as HandshakeFrame;
  }

  /** Hands the channel back; later frames wait for the next owner. */
  release(): void {
    this.#channel.setHandler(null);
  }
}

/**
 * The parent's half: returns the runner id the peer proved it holds the cookie for. A peer
 * whose id `expected` refuses gets no confirm.
 */
export async function acceptHandshake(
  channel: Channel,
  cookie: string,
  timeoutMs: number,
  expected: (runnerId: string) => boolean = () => true,
): Promise<string> {
  const reader = new HandshakeReader(channel, timeoutMs);
  const np = randomBytes(NONCE_BYTES);
  channel.send({ t: 'challenge', v: PROTOCOL_VERSION, nonce: np });

  const response = await reader.next();
  if (response.t !== 'response' || response.v !== PROTOCOL_VERSION) {
    throw new HandshakeError(`expected a v${PROTOCOL_VERSION} response`);
  }
  const { runnerId, nonce: nr } = response;
  if (typeof runnerId !== 'string' || runnerId.length === 0 || runnerId.length > MAX_RUNNER_ID) {
    throw new HandshakeError('response carries no valid runner id');
  }
  if (!Buffer.isBuffer(nr) || nr.length !== NONCE_BYTES) {
    throw new HandshakeError('response carries no valid nonce');
  }
  if (!sameMac(mac(cookie, 'runner', np, nr, runnerId), response.mac)) {
    throw new HandshakeError('runner failed the cookie check');
  }
  if (!expected(runnerId)) throw new HandshakeError(`no runner ${runnerId} is booting`);

  reader.release();
  channel.send({ t: 'confirm', mac: mac(cookie, 'parent', np, nr, runnerId) });
  return runnerId;
}

/** The runner's half: proves the cookie and checks that the parent holds it too. */
export async function offerHandshake(
  channel: Channel,
  cookie: string,
  runnerId: string,
  timeoutMs: number,
): Promise<void> {
  const reader = new HandshakeReader(channel, timeoutMs);
  const challenge = await reader.next();
  if (challenge.t !== 'challenge' || challenge.v !== PROTOCOL_VERSION) {
    throw new HandshakeError(`parent does not speak protocol v${PROTOCOL_VERSION}`);
  }
  const np = challenge.nonce;
  if (!Buffer.isBuffer(np) || np.length !== NONCE_BYTES) {
    throw new HandshakeError('challenge carries no valid nonce');
  }

  const nr = randomBytes(NONCE_BYTES);
  channel.send({
    t: 'response',
    v: PROTOCOL_VERSION,
    runnerId,
    nonce: nr,
    mac: mac(cookie, 'runner', np, nr, runnerId),
  });

  const confirm = await reader.next();
  if (confirm.t !== 'confirm' || !sameMac(mac(cookie, 'parent', np, nr, runnerId), confirm.mac)) {
    throw new HandshakeError('parent failed the cookie check');
  }
  reader.release();
}
