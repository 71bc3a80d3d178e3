// The one task module of the web app. Runners load it by name ("tasks/paint#paint"), so it
// must stay small: it imports Node built-ins and the flame-node core only, never the server
// or the database, which a runner neither has nor needs.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { context } from '@flame-node/core';

/** What the parent asks for. */
export interface PaintRequest {
  /** How long to work before answering (ms). */
  ms: number;
  /** Throw instead of answering, so the page's error display can be seen (and tested). */
  fail?: boolean;
}

/** What a runner answers. */
export interface Paint {
  /** A colour as `#rrggbb`. */
  colour: string;
  /** The host name of the runner: in Docker, the runner container's name. */
  runner: string;
  /** The runner's process id, which tells local runners apart. */
  pid: number;
}

/** Sleeps `request.ms`, then picks a random colour and says which runner picked it. */
export async function paint(request: PaintRequest): Promise<Paint> {
  // The call's signal aborts when the caller stops waiting (its deadline, or the pool
  // closing), so an abandoned task does not hold the runner for the rest of its sleep.
  await sleep(request.ms, undefined, { signal: context().signal });
  if (request.fail) {
    throw Object.assign(new Error(`runner ${hostname()} was asked to fail`), {
      code: 'WEB_ASKED_TO_FAIL',
    });
  }
  return { colour: randomColour(), runner: hostname(), pid: process.pid };
}

/** A random, fairly saturated colour: any hue, never close to black, white or grey. */
export function randomColour(): string {
  const hue = Math.random() * 360;
  const saturation = 0.55 + Math.random() * 0.35;
  const lightness = 0.4 + Math.random() * 0.25;
  return hslToHex(hue, saturation, lightness);
}

// The usual HSL to RGB formula, one channel at a time (n = 0 red, 8 green, 4 blue).
function hslToHex(hue: number, saturation: number, lightness: number): string {
  const amount = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number): string => {
    const k = (n + hue / 30) % 12;
    const value = lightness - amount * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255).toString(16).padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}
