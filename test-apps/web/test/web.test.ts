import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import {
  type Browser,
  containerNames,
  docker,
  freePort,
  lines,
  networkExists,
  openBrowser,
  ROOT,
  run,
  RunnerSampler,
  waitFor,
  waitForApp,
} from './helpers';

// The web app end to end, in Docker and in a real browser: built and started by
// scripts/web/01_run.sh, then once more from compose.yaml. Every name carries this process's
// id, so a developer's own copy of the app (web-flame-parent on port 4000) is left alone.
// Set WEB_SCREENSHOT=docs/web-app.png to refresh the screenshot in the docs.

const ID = String(process.pid);
const IMAGE = `flame-node/test-web:test-${ID}`;
const MAX = 2;
const IDLE_MS = 3_000;

jest.setTimeout(60_000);

/** `#rrggbb` as the browser's computed style writes it. */
const rgb = (hex: string): string =>
  `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;

afterAll(() => {
  if (docker('images', '-q', IMAGE) !== '') docker('image', 'rm', '-f', IMAGE);
});

interface StoredRow {
  colour: string;
  runner: string;
}

/** The app as the script runs it. */
describe('web app through scripts/web/01_run.sh', () => {
  const pool = `web-test-${ID}`;
  const parent = `web-test-parent-${ID}`;
  const networks = [`web_test_runners_${ID}`, `web_test_public_${ID}`];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'web-test-data-'));
  const shots = mkdtempSync(path.join(os.tmpdir(), 'web-test-shots-'));
  let env: Record<string, string>;
  let baseUrl: string;
  let sampler: RunnerSampler | undefined;
  let browser: Browser | undefined;
  let page: Page;

  const cleanup = (): string =>
    run(path.join(ROOT, 'scripts/web/02_cleanup.sh'), [], env, 60_000);
  const tiles = (): Promise<string[]> =>
    page.$$eval('#grid .tile', (items) =>
      items.map((item) => (item as HTMLElement).dataset.colour ?? ''),
    );
  const storedRows = (): StoredRow[] => {
    const db = new Database(path.join(dataDir, 'web.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT colour, runner FROM colours ORDER BY id').all() as StoredRow[];
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    env = {
      WEB_IMAGE: IMAGE,
      WEB_PARENT_NAME: parent,
      WEB_NETWORK: networks[0]!,
      WEB_PUBLIC_NETWORK: networks[1]!,
      WEB_POOL_NAME: pool,
      WEB_HOST_PORT: String(port),
      WEB_DATA_DIR: dataDir,
      WEB_POOL_MAX: String(MAX),
      WEB_IDLE_SHUTDOWN_MS: String(IDLE_MS),
      FLAME_LOG_LEVEL: 'info',
    };
    // "" keeps the image's command (the web server); -d starts it in the background.
    run(path.join(ROOT, 'scripts/web/01_run.sh'), ['', '-d'], env);
    await waitForApp(baseUrl);
    sampler = new RunnerSampler(pool);

    browser = await openBrowser();
    page = await browser.context.newPage();
    await page.goto(baseUrl);
    await page.waitForSelector('#live[data-state="live"]');
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await sampler?.stop();
    if (env) cleanup();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(shots, { recursive: true, force: true });
  }, 90_000);

  it('runs five quick clicks on at most max runners, and shows and stores 5 colours', async () => {
    const answers: number[] = [];
    page.on('response', (response) => {
      if (response.url().endsWith('/tasks')) answers.push(response.status());
    });

    for (let i = 0; i < 5; i++) await page.click('#spawn');
    // Each click's POST returns at once, long before a task (about a second) could finish.
    await page.waitForFunction(() => document.getElementById('pending')?.textContent === '5');
    await page.waitForFunction(
      () =>
        document.querySelectorAll('#grid .tile').length === 5 &&
        document.getElementById('pending')?.textContent === '0',
      undefined,
      { timeout: 45_000 },
    );
    expect(answers).toEqual([202, 202, 202, 202, 202]);

    const shown = await tiles();
    const latest = await page.$eval('#latest', (panel) => ({ ...(panel as HTMLElement).dataset }));
    expect(shown).toHaveLength(5);
    shown.forEach((colour) => expect(colour).toMatch(/^#[0-9a-f]{6}$/));
    expect(latest.colour).toBe(shown[0]);
    const label = await page.textContent('#latest-runner');
    expect(label).toBe(`painted by runner ${latest.runner}`);
    const painted = await page.$eval('#latest', (panel) => getComputedStyle(panel).backgroundColor);
    expect(painted).toBe(rgb(shown[0]!));

    // The database holds the same five, each painted by one of this pool's runner containers.
    const rows = storedRows();
    expect(rows.map((row) => row.colour).reverse()).toEqual(shown);
    for (const row of rows) expect(sampler!.names).toContain(row.runner);
    expect(latest.runner).not.toBe(parent);

    expect(sampler!.errors).toEqual([]);
    expect(sampler!.peak).toBeGreaterThanOrEqual(1);
    expect(sampler!.peak).toBeLessThanOrEqual(MAX);

    const shot = path.join(shots, 'web-app.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    if (process.env.WEB_SCREENSHOT) {
      const target = path.resolve(ROOT, process.env.WEB_SCREENSHOT);
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(shot, target);
    }
  });

  it('shows the error of a failed task, and stores nothing for it', async () => {
    const rowsBefore = storedRows().length;
    await page.click('#spawn-fail');

    await page.waitForSelector('#error:not([hidden])', { timeout: 20_000 });
    const text = await page.textContent('#error-text');
    expect(text).toMatch(
      /^Task #\d+ failed: runner flame-web-test-\d+-\w+ was asked to fail \(FLAME_ERR_REMOTE\)$/,
    );
    await page.waitForFunction(() => document.getElementById('pending')?.textContent === '0');
    // Nothing more in the database or the grid than the colours before it.
    expect(storedRows()).toHaveLength(rowsBefore);
    expect(await tiles()).toHaveLength(rowsBefore);

    await page.click('#error-dismiss');
    await expect(page.isHidden('#error')).resolves.toBe(true);
  });

  it('stops idle runners and keeps the colours for the next page', async () => {
    const gone = (): true | undefined =>
      containerNames(`label=flame-node.pool=${pool}`).length === 0 ? true : undefined;
    await waitFor('idle runners to stop', gone, IDLE_MS + 20_000);
    await page.waitForFunction(() => document.getElementById('runners')?.textContent === '0');

    const second = await browser!.context.newPage();
    await second.goto(baseUrl);
    await second.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 5);
    await second.close();
    expect(sampler!.peak).toBeLessThanOrEqual(MAX);
  });

  it('leaves nothing behind after scripts/web/02_cleanup.sh', async () => {
    await sampler!.stop();
    cleanup();
    expect(containerNames(`name=^${parent}$`)).toEqual([]);
    expect(containerNames(`label=flame-node.pool=${pool}`)).toEqual([]);
    networks.forEach((network) => expect(networkExists(network)).toBe(false));
  });
});

const PROJECT_LABEL = 'com.docker.compose.project';

/** The same image from compose.yaml, with docker-compose 1.29. */
describe('web app through compose.yaml', () => {
  const project = `webtest${ID}`;
  const pool = `web-compose-test-${ID}`;
  const networks = [`web_compose_runners_${ID}`, `web_compose_public_${ID}`];
  const compose = ['-p', project, '-f', path.join(ROOT, 'test-apps/web/compose.yaml')];
  let env: Record<string, string> | undefined;
  let browser: Browser | undefined;
  let baseUrl: string;

  const down = (): string =>
    run('docker-compose', [...compose, 'down', '-v', '--remove-orphans', '-t', '20'], env!, 90_000);

  beforeAll(async () => {
    // The first describe built the image; build it here when that one did not get so far.
    if (docker('images', '-q', IMAGE) === '') {
      run('npm', ['run', 'build', '--silent'], {});
      run(path.join(ROOT, 'docker/build-app-image.sh'), ['test-apps/web', IMAGE], {});
    }
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    env = {
      WEB_IMAGE: IMAGE,
      WEB_PARENT_NAME: `web-compose-test-parent-${ID}`,
      WEB_NETWORK: networks[0]!,
      WEB_PUBLIC_NETWORK: networks[1]!,
      WEB_POOL_NAME: pool,
      WEB_HOST_PORT: String(port),
    };
    run('docker-compose', [...compose, 'up', '-d'], env, 120_000);
    await waitForApp(baseUrl);
    browser = await openBrowser();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (env) down();
    // A parent that was killed leaves its runners; the label finds them.
    const left = containerNames(`label=flame-node.pool=${pool}`);
    if (left.length > 0) docker('rm', '-f', ...left);
  }, 120_000);

  it('paints a colour on a runner of its own pool', async () => {
    const page = await browser!.context.newPage();
    await page.goto(baseUrl);
    await page.waitForSelector('#live[data-state="live"]');

    await page.click('#spawn');
    await page.waitForFunction(
      () => document.querySelectorAll('#grid .tile').length === 1,
      undefined,
      { timeout: 30_000 },
    );
    const runner = await page.$eval('#latest', (panel) => (panel as HTMLElement).dataset.runner);
    expect(runner).toMatch(new RegExp(`^flame-${pool}-`));
  });

  it('leaves nothing behind after docker-compose down', () => {
    down();
    expect(containerNames(`label=${PROJECT_LABEL}=${project}`)).toEqual([]);
    expect(containerNames(`label=flame-node.pool=${pool}`)).toEqual([]);
    networks.forEach((network) => expect(networkExists(network)).toBe(false));
    const volumes = docker('volume', 'ls', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`);
    expect(lines(volumes)).toEqual([]);
  });
});
