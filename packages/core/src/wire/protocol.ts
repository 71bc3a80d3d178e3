/**
 * The wire protocol between a parent and its runners.
 *
 * A connection carries frames: a 4-byte big-endian length, then one msgpack value of that
 * many bytes. A connection starts with the cookie handshake (see handshake.ts), then carries
 * the messages below, many calls at once, each tagged by its id.
 */

/** Bumped on any incompatible change; both sides refuse a peer with another version. */
export const PROTOCOL_VERSION = 2;

/** Bytes in a frame's length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Largest frame accepted before the handshake has finished. Handshake frames are tiny. */
export const HANDSHAKE_MAX_FRAME = 1024;

/** Default largest frame after the handshake (a call's arguments or a result). */
export const DEFAULT_MAX_FRAME = 128 * 1024 * 1024;

/** Largest value the 4-byte length prefix can announce. */
export const ABSOLUTE_MAX_FRAME = 0xffffffff;

/** Default time a peer gets to finish the handshake before it is dropped. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 5_000;

/** How a call is to be run: its result awaited, fired and forgotten, or placed for long. */
export type CallKind = 'call' | 'cast' | 'child';

/** An error as it crosses the wire. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string | number;
}

/**
 * Parent to runner: run `task`. The frame's body is the array of arguments. `timeout` is
 * what remains of the call's deadline, in milliseconds.
 */
export interface CallMessage {
  t: 'call';
  id: number;
  task: string;
  kind: CallKind;
  timeout: number;
}

/** Parent to runner: the caller gave up on call `id`; abort its signal. */
export interface CancelMessage {
  t: 'cancel';
  id: number;
  reason: 'timeout' | 'aborted' | 'closing' | 'stopped';
}

/** Parent to runner: leave now (idle, pool closing, single use done). */
export interface StopMessage {
  t: 'stop';
  reason: string;
}

/** Runner to parent, once after the handshake. */
export interface ReadyMessage {
  t: 'ready';
  pid: number;
  hostname: string;
  node: string;
}

/** Runner to parent: call `id` has started (sent for `child` calls). */
export interface StartedMessage {
  t: 'started';
  id: number;
}

/** Runner to parent: call `id` returned; the frame's body is the value. */
export interface ResultMessage {
  t: 'result';
  id: number;
}

/**
 * Runner to parent: call `id` failed. `origin` says whether the task threw (`task`) or
 * flame-node itself refused or failed the call (`flame`, with a `FLAME_ERR_...` code).
 */
export interface ErrorMessage {
  t: 'error';
  id: number;
  origin: 'task' | 'flame';
  error: WireError;
}

export type ParentMessage = CallMessage | CancelMessage | StopMessage;
export type RunnerMessage = ReadyMessage | StartedMessage | ResultMessage | ErrorMessage;

/** The handshake, in order. See handshake.ts for what each MAC covers. */
export interface ChallengeFrame {
  t: 'challenge';
  v: number;
  nonce: Buffer;
}

export interface ResponseFrame {
  t: 'response';
  v: number;
  runnerId: string;
  nonce: Buffer;
  mac: Buffer;
}

export interface ConfirmFrame {
  t: 'confirm';
  mac: Buffer;
}

export type HandshakeFrame = ChallengeFrame | ResponseFrame | ConfirmFrame;
