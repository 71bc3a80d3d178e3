import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { docker } from './docker';

/** One pino record, as a runner or a parent writes it. */
export interface LogRecord {
  level: number;
  msg: string;
  runnerId?: string;
  reason?: string;
  [field: string]: unknown;
}

/** The pino records among `lines`; other lines (app events, plain text) are skipped. */
export function logRecords(lines: readonly string[]): LogRecord[] {
  const records: LogRecord[] = [];
  for (const line of lines) {
    try {
      const parsed = JSON.parse(line) as Partial<LogRecord> | null;
      if (typeof parsed?.level === 'number' && typeof parsed.msg === 'string') {
        records.push(parsed as LogRecord);
      }
    } catch {
      // Not JSON: not a pino line.
    }
  }
  return records;
}

/**
 * `docker logs` of a container, stdout and stderr merged in the order they were written
 * (by the daemon's timestamps), without the timestamps: what a user reads, last line last.
 */
export function containerLogLines(container: string): string[] {
  const read = spawnSync('docker', ['logs', '--timestamps', container], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (read.status !== 0) throw new Error(`docker logs ${container}: ${read.stderr}`);
  const stamped = `${read.stdout}\n${read.stderr}`.split('\n').filter(Boolean).map((line) => {
    const space = line.indexOf(' ');
    return { at: sortableTime(line.slice(0, space)), text: line.slice(space + 1) };
  });
  stamped.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return stamped.map((line) => line.text);
}

// The daemon writes RFC 3339 in UTC with trailing zeros of the fraction cut off: padded
// to nine digits, the stamps sort as strings (and the sort is stable for equal ones).
function sortableTime(stamp: string): string {
  const match = /^(.*?)(?:\.(\d+))?Z$/.exec(stamp);
  return match ? `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}` : stamp;
}

/** `State` of a container from `docker inspect`, or undefined when it is gone. */
export function containerState(
  container: string,
): { Status: string; ExitCode: number; Running: boolean } | undefined {
  try {
    return JSON.parse(docker('inspect', '--format', '{{json .State}}', container));
  } catch {
    return undefined;
  }
}

/**
 * A Docker API that accepts connections and never answers: a unix socket server run with
 * `docker exec` inside a container of the test (so it is reachable there and nowhere else).
 * `socketPath` is a symlink to the server's socket, which `repoint` later turns to another
 * socket, atomically (a rename), the way an operator fixes a mount.
 */
export class SilentDaemon {
  readonly socketPath: string;
  /** Connections the server accepted so far. */
  connections = 0;
  private readonly child: ChildProcess;

  private constructor(
    private readonly container: string,
    private readonly dir: string,
  ) {
    this.socketPath = `${dir}/docker.sock`;
    const script = [
      "const fs = require('node:fs');",
      "const net = require('node:net');",
      `const dir = ${JSON.stringify(dir)};`,
      'fs.mkdirSync(dir, { recursive: true });',
      "const server = net.createServer(() => console.log('connection'));",
      "server.listen(dir + '/silent.sock', () => {",
      "  fs.symlinkSync('silent.sock', dir + '/docker.sock');",
      "  console.log('listening');",
      '});',
      // The test ends it by closing stdin (or the container goes first).
      "process.stdin.on('end', () => process.exit(0)).resume();",
    ].join('\n');
    this.child = spawn('docker', ['exec', '-i', container, 'node', '-e', script]);
  }

  /** Starts the server inside `container` (its temp dir `dir`) and waits until it listens. */
  static async start(container: string, dir: string): Promise<SilentDaemon> {
    const daemon = new SilentDaemon(container, dir);
    await daemon.listening();
    return daemon;
  }

  /** Points the symlink at `target` (a path inside the container). */
  repoint(target: string): void {
    const next = `${this.dir}/docker.sock.next`;
    docker('exec', this.container, 'sh', '-c', 'ln -s "$1" "$2" && mv -T "$2" "$3"', '_',
      target, next, this.socketPath);
  }

  /** Stops the server. Safe to call when the container is gone already. */
  stop(): void {
    this.child.stdin?.end();
    if (this.child.exitCode === null) this.child.kill();
  }

  private listening(): Promise<void> {
    return new Promise((resolve, reject) => {
      const errors: string[] = [];
      this.child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
      this.child.once('close', (code) => {
        reject(new Error(`the silent daemon exited (${code}): ${errors.join('')}`));
      });
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        if (line === 'listening') resolve();
        if (line === 'connection') this.connections += 1;
      });
    });
  }
}
