'use strict';
// The raw baseline's far end: a child process that serves the benchmark tasks over one TCP
// connection with flame-node's own framing and codec (the Channel of @flame-node/core), and
// nothing else: no handshake, no task loader, no call context, no deadlines. It prints its
// port on stdout and leaves when stdin closes (its parent is gone) or its connection ends.
// With `--bytes` it only reflects frames (same 4-byte framing, no msgpack at all): the
// ceiling that loopback TCP and Node's sockets leave for large payloads.
const net = require('node:net');
const path = require('node:path');
const { BENCH_ROOT, coreInternal } = require('./lib/paths');
const { Channel } = coreInternal('wire/channel.js');
const { DEFAULT_MAX_FRAME } = coreInternal('wire/protocol.js');
const { FrameDecoder, frameHeader } = coreInternal('wire/frame-decoder.js');

const functions = new Map();

function lookup(task) {
  let fn = functions.get(task);
  if (fn === undefined) {
    const [modulePath, exportName = 'default'] = task.split('#');
    fn = require(path.join(BENCH_ROOT, modulePath))[exportName];
    if (typeof fn !== 'function') throw new Error(`no task ${task}`);
    functions.set(task, fn);
  }
  return fn;
}

function serve(channel) {
  const reply = (id, value) => channel.send({ t: 'result', id }, channel.encode(value, 'result'));
  const fail = (id, error) =>
    channel.send({
      t: 'error',
      id,
      origin: 'task',
      error: { name: error.name, message: error.message },
    });

  channel.setHandler((header, args) => {
    if (header.t !== 'call') return;
    let value;
    try {
      value = lookup(header.task)(...args);
    } catch (error) {
      fail(header.id, error);
      return;
    }
    if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
      value.then((result) => reply(header.id, result), (error) => fail(header.id, error));
    } else {
      reply(header.id, value);
    }
  });
}

function reflect(socket) {
  const decoder = new FrameDecoder(DEFAULT_MAX_FRAME);
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    for (const frame of decoder.push(chunk)) {
      socket.cork();
      socket.write(frameHeader(frame.length));
      socket.write(frame);
      socket.uncork();
    }
  });
  socket.on('close', () => process.exit(0));
}

const server = net.createServer((socket) => {
  if (process.argv.includes('--bytes')) {
    reflect(socket);
    return;
  }
  const channel = new Channel(socket, DEFAULT_MAX_FRAME);
  serve(channel);
  channel.on('close', () => process.exit(0));
});

server.listen({ host: '127.0.0.1', port: 0 }, () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
