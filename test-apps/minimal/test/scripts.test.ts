import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  containers,
  docker,
  inspect,
  REPO,
  removeContainers,
  waitFor,
} from '../../../packages/docker/test-docker/support/docker';
import { removeImage } from '../../../packages/docker/test-docker/support/image';

// The minimal app's scripts and compose file, run the way its README says, under names of
// their own (MINIMAL_* variables) so that a developer's session on the same daemon is safe.

const run = `${process.pid}-${randomBytes(3).toString('hex')}`;
const names = {
  MINIMAL_IMAGE: `flame-test/minimal:scripts-${run}`,
  MINIMAL_NETWORK: `flame_test_scripts_${run}`,
  MINIMAL_PARENT: `mt-scripts-${run}-parent`,
  MINIMAL_POOL: `mt-scripts-${run}`,
  MINIMAL_COMPOSE_NETWORK: `flame_test_compose_${run}`,
};
const pools = [names.MINIMAL_POOL, `${names.MINIMAL_POOL}-memory`, `${names.MINIMAL_POOL}-broken`];
const composeProject = `mtcompose${run.replace(/\W/g, '')}`;
const composeFile = path.join(REPO, 'test-apps/minimal/compose.yaml');

jest.setTimeout(120_000);

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function sh(command: string, args: string[], options: { input?: string; env?: object } = {}): Ran {
  const result = spawnSync(command, args, {
    cwd: REPO,
    env: { ...process.env, ...names, ...options.env },
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 110_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const script = (name: string, ...args: string[]) =>
  sh('bash', [path.join(REPO, 'scripts/minimal', name), ...args]);
const compose = (...args: string[]) =>
  sh('docker-compose', ['-p', composeProject, '-f', composeFile, ...args]);

/** The JSON lines with an `event` in some output. */
function events(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .map((line) => line.replace(/^.*?\|\s/, ''))
    .filter((line) => line.startsWith('{"event"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const runners = () =>
  pools.flatMap((pool) =>
    containers('label=flame-node.managed=true', `label=flame-node.pool=${pool}`),
  );
const networkExists = (name: string) => inspect(name) !== undefined;

function expectSuccess(ran: Ran): void {
  if (ran.status !== 0) {
    throw new Error(`exit ${ran.status}\nstdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`);
  }
}

afterAll(() => {
  compose('down', '--remove-orphans');
  script('02_cleanup.sh');
  removeContainers(containers(`name=^/${names.MINIMAL_PARENT}$`));
  removeContainers(runners());
  for (const network of [names.MINIMAL_NETWORK, names.MINIMAL_COMPOSE_NETWORK]) {
    if (networkExists(network)) docker('network', 'rm', network);
  }
  removeImage(names.MINIMAL_IMAGE);
});

it('01_run.sh builds the image and runs a one-shot command in the parent container', () => {
  const ran = script('01_run.sh', 'node test-apps/minimal/dist/cli.js ten');

  expectSuccess(ran);
  const [result] = events(ran.stdout);
  expect(result).toMatchObject({ event: 'many', calls: 10 });
  expect(String((result.runners as string[])[0])).toMatch(`flame-${names.MINIMAL_POOL}-`);
  expect(inspect(names.MINIMAL_IMAGE)).toBeDefined();
  expect(inspect<{ Internal: boolean }>(names.MINIMAL_NETWORK)?.Internal).toBe(true);
  // The parent ran with --rm and closed its pool: nothing is left but the network.
  expect(containers(`name=^/${names.MINIMAL_PARENT}$`)).toEqual([]);
  expect(runners()).toEqual([]);
});

it('01_run.sh runs the REPL (dist/main.js) with custom flags and piped input', () => {
  const ran = sh(
    'bash',
    [path.join(REPO, 'scripts/minimal/01_run.sh'), 'node test-apps/minimal/dist/main.js', '-i'],
    { input: 'await one()\n.exit\n', env: { MINIMAL_SKIP_BUILD: '1' } },
  );

  expectSuccess(ran);
  expect(ran.stdout).toContain('minimal> ');
  expect(ran.stdout).toMatch(new RegExp(`hostname: 'flame-${names.MINIMAL_POOL}-[0-9a-f]{12}'`));
});

it('02_cleanup.sh removes the parent, its runners and the network', async () => {
  const run01 = path.join(REPO, 'scripts/minimal/01_run.sh');
  const started = sh('bash', [run01, 'node test-apps/minimal/dist/cli.js hold 2', '-d'], {
    env: { MINIMAL_SKIP_BUILD: '1' },
  });
  expectSuccess(started);
  await waitFor('two runners', () => (runners().length === 2 ? true : undefined), 30_000);

  expectSuccess(script('02_cleanup.sh'));

  expect(containers(`name=^/${names.MINIMAL_PARENT}$`)).toEqual([]);
  expect(runners()).toEqual([]);
  expect(networkExists(names.MINIMAL_NETWORK)).toBe(false);
  // Running it again finds nothing to do, and says so without failing.
  expectSuccess(script('02_cleanup.sh'));
});

it('compose.yaml runs a one-shot parent with docker-compose, and down removes it all', () => {
  const command = 'node test-apps/minimal/dist/cli.js one';
  const up = sh(
    'docker-compose',
    ['-p', composeProject, '-f', composeFile, 'up', '--exit-code-from', 'parent', '--no-color'],
    { env: { MINIMAL_COMMAND: command } },
  );

  expectSuccess(up);
  const [result] = events(up.stdout);
  expect(result).toMatchObject({ event: 'one', ok: true });
  const { hostname } = result.value as { hostname: string };
  expect(hostname).toMatch(`flame-${names.MINIMAL_POOL}-`);
  expect(inspect<{ Internal: boolean }>(names.MINIMAL_COMPOSE_NETWORK)?.Internal).toBe(true);

  expectSuccess(compose('down'));
  expect(networkExists(names.MINIMAL_COMPOSE_NETWORK)).toBe(false);
  expect(containers(`label=com.docker.compose.project=${composeProject}`)).toEqual([]);
  expect(runners()).toEqual([]);
});
