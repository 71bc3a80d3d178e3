'use strict';
// The parent's end of the raw baseline: the same frames a pool sends to a runner (a `call`
// header and the encoded argument array as body), over one TCP connection to a child
// process, answered by bench/raw-server.js. One promise per call, routed back by id, and
// nothing else: what a pool costs on top of this is the pool's own overhead.
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const { coreInternal } = require('./paths');
const { Channel } = coreInternal('wire/channel.js');
const { DEFAULT_MAX_FRAME } = coreInternal('wire/protocol.js');
const { FrameDecoder, frameHeader } = coreInternal('wire/frame-decoder.js');

function firstLine(stream) {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end < 0) return;
      stream.off('data', onData);
      resolve(text.slice(0, end));
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error('raw server exited before printing its port')));
  });
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function startServer(args) {
  const child = spawn(process.execPath, [...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const port = Number(await firstLine(child.stdout));
  const socket = await connect(port);
  const close = async () => {
    socket.end();
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, socket, close };
}

const SERVER = path.join(__dirname, '..', 'raw-server.js');

/**
 * Starts the echo server process and connects to it. `close()` stops both ends.
 * `execArgv` are Node flags for the server (bench/profile.js passes --cpu-prof).
 */
async function startRawEcho(execArgv = []) {
  const { child, socket, close } = await startServer([...execArgv, SERVER]);
  const channel = new Channel(socket, DEFAULT_MAX_FRAME);

  const pending = new Map();
  let nextId = 1;
  channel.setHandler((header, body) => {
    const call = pending.get(header.id);
    if (call === undefined) return;
    pending.delete(header.id);
    if (header.t === 'result') call.resolve(body);
    else call.reject(new Error(header.error.message));
  });
  channel.on('close', (error) => {
    for (const call of pending.values()) call.reject(error ?? new Error('raw server gone'));
    pending.clear();
  });

  return {
    pid: child.pid,
    call(task, args) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const body = channel.encode(args, 'the arguments');
        pending.set(id, { resolve, reject });
        channel.send({ t: 'call', id, task, kind: 'call', timeout: 30_000 }, body);
      });
    },
    close,
  };
}

/**
 * The socket-only reference: frames of raw bytes reflected by `raw-server.js --bytes`, with
 * the same framing and no codec. `echo(bytes)` resolves to the frame that comes back.
 */
async function startByteEcho() {
  const { child, socket, close } = await startServer([SERVER, '--bytes']);
  const decoder = new FrameDecoder(DEFAULT_MAX_FRAME);
  const waiting = [];
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    for (const frame of decoder.push(chunk)) waiting.shift()?.(frame);
  });

  return {
    pid: child.pid,
    echo(bytes) {
      return new Promise((resolve) => {
        waiting.push(resolve);
        socket.cork();
        socket.write(frameHeader(bytes.length));
        socket.write(bytes);
        process.nextTick(() => socket.uncork());
      });
    },
    close,
  };
}

module.exports = { startRawEcho, startByteEcho };
