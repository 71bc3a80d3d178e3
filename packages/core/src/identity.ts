import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { COOKIE_ENV } from './parent-env';

/**
 * This process's instance id as a parent: distinct for every start, so runners labelled
 * with it can be told apart from those of an earlier (dead) parent on the same host.
 */
export const PARENT_ID = `${hostname()
  .toLowerCase()
  .replace(/[^a-z0-9-]/g, '-')}-${process.pid}-${randomBytes(4).toString('hex')}`;

let cookie: string | undefined;

/**
 * The cookie runners must prove they hold: `FLAME_COOKIE`, else a random one made once per
 * process (enough when every runner is started by this process).
 */
export function parentCookie(): string {
  cookie ??= process.env[COOKIE_ENV] || randomBytes(32).toString('base64url');
  return cookie;
}

/** A fresh runner id for `pool`: lowercase, hostname- and container-name-safe, unique. */
export function newRunnerId(pool: string): string {
  const slug = pool
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  return `flame-${slug}-${randomBytes(6).toString('hex')}`;
}
