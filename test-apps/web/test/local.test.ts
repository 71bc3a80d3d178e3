import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ROOT } from './helpers';

// The web app with WEB_BACKEND=local (runners are child processes): no Docker, no browser,
// a few seconds. It runs the built app (npm run build), as the image does.
const MAIN = path.join(ROOT, 'test-apps/web/dist/main.js');
const TASK = path.join(ROOT, 'test-apps/web/dist/tasks/paint.js');

jest.setTimeout(20_000);

interface ServerEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads `GET /events` and hands each event to `onEvent`. */
function listen(url: string, onEvent: (event: ServerEvent) => void): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) onEvent({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
      });
      resolve(res);
    }).on('error', reject);
  });
}

it('loads the task module without the server or the database', () => {
  // What a runner loads: the task module and what it imports, nothing of the web server.
  const script = `require(${JSON.stringify(TASK)});
    console.log(JSON.stringify(Object.keys(require.cache)))`;
  const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  const loaded = JSON.parse(output) as string[];
  const appDir = path.join(ROOT, 'test-apps/web') + path.sep;
  const app = loaded.filter((file) => file.startsWith(appDir));
  expect(app.map((file) => path.basename(file))).toEqual(['paint.js']);
  expect(loaded.some((file) => file.includes('better-sqlite3'))).toBe(false);
});

describe('web app with local runners', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'web-local-test-'));
  let app: ChildProcess;
  let baseUrl: string;

  beforeAll(async () => {
    app = spawn(process.execPath, [MAIN], {
      cwd: dataDir,
      env: {
        ...process.env,
        WEB_BACKEND: 'local',
        WEB_PORT: '0',
        WEB_DB_PATH: path.join(dataDir, 'web.db'),
        WEB_POOL_NAME: `web-local-${process.pid}`,
        WEB_TASK_MS: '200',
        FLAME_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    baseUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      app.stdout!.setEncoding('utf8');
      app.stdout!.on('data', (chunk: string) => {
        out += chunk;
        const port = /web app on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
        if (port) resolve(`http://127.0.0.1:${port}`);
      });
      app.once('exit', (code) => reject(new Error(`the app exited with ${code}: ${out}`)));
    });
  }, 20_000);

  afterAll(async () => {
    if (app.exitCode === null) {
      const exited = new Promise((resolve) => app.once('exit', resolve));
      app.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 202 at once, then streams and stores each colour and a failure', async () => {
    const events: ServerEvent[] = [];
    let notify = (): void => undefined;
    const stream = await listen(`${baseUrl}/events`, (event) => {
      events.push(event);
      notify();
    });
    const until = (done: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        notify = () => done() && resolve();
        notify();
      });

    await until(() => events.some((e) => e.event === 'snapshot'));
    expect(events[0]).toEqual({ event: 'snapshot', data: { pending: 0, runners: 0, recent: [] } });

    const urls = ['/tasks', '/tasks', '/tasks', '/tasks?fail=1'];
    const answers = await Promise.all(urls.map((url) => fetch(baseUrl + url, { method: 'POST' })));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202]);

    const colours = () => events.filter((e) => e.event === 'colour');
    await until(() => colours().length === 3 && events.some((e) => e.event === 'failure'));
    await until(() => events.at(-1)?.event === 'status' && events.at(-1)?.data.pending === 0);
    stream.destroy();

    const failure = events.find((e) => e.event === 'failure')!.data;
    expect(failure).toMatchObject({ code: 'FLAME_ERR_REMOTE', remoteCode: 'WEB_ASKED_TO_FAIL' });
    expect(Math.max(...events.map((e) => Number(e.data.pending ?? 0)))).toBe(4);

    const db = new Database(path.join(dataDir, 'web.db'), { readonly: true });
    const rows = db.prepare('SELECT id, colour, runner FROM colours ORDER BY id').all();
    db.close();
    const streamed = colours().map(({ data }) => ({
      id: data.id,
      colour: data.colour,
      runner: data.runner,
    }));
    expect(rows).toEqual(streamed);

    const listed = (await (await fetch(`${baseUrl}/api/colours`)).json()) as unknown[];
    expect(listed).toHaveLength(3);
  });

  it('refuses other methods and unknown paths', async () => {
    expect((await fetch(`${baseUrl}/tasks`)).status).toBe(405);
    expect((await fetch(`${baseUrl}/nope`)).status).toBe(404);
    const page = await fetch(baseUrl);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('Spawn FLAME task');
  });
});
