import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigurationError, Pool, POOL_DEFAULTS } from '@flame-node/core';

describe('pool options', () => {
  it('fills the documented defaults', () => {
    const pool = new Pool({ name: 'defaults', logger: false });
    expect(pool.options).toMatchObject({
      min: 0,
      maxConcurrency: 100,
      idleShutdownAfter: 30_000,
      bootTimeout: 30_000,
      timeout: 30_000,
      shutdownTimeout: 30_000,
      cancelGrace: 5_000,
      singleUse: false,
      taskRoot: process.cwd(),
    });
    expect(pool.options.max).toBeGreaterThanOrEqual(1);
    expect(Object.isFrozen(POOL_DEFAULTS)).toBe(true);
  });

  it.each([
    [{ name: 'x', mxa: 3 }, TypeError, /options\.mxa is not a pool option/],
    [{}, TypeError, /options\.name must be a non-empty string/],
    [{ name: 'has space' }, RangeError, /options\.name/],
    [{ name: 'x', max: 0 }, RangeError, /options\.max must be an integer >= 1, received 0/],
    [{ name: 'x', max: '2' }, TypeError, /options\.max must be a number, received "2"/],
    [{ name: 'x', min: 3, max: 2 }, RangeError, /options\.min \(3\) must not exceed options\.max \(2\)/],
    [{ name: 'x', maxConcurrency: 1.5 }, RangeError, /options\.maxConcurrency/],
    [{ name: 'x', timeout: 0 }, RangeError, /options\.timeout must be a positive integer or Infinity/],
    [{ name: 'x', bootTimeout: Infinity }, RangeError, /options\.bootTimeout must be a positive integer/],
    [{ name: 'x', singleUse: 'yes' }, TypeError, /options\.singleUse must be a boolean/],
    [{ name: 'x', logger: console }, TypeError, /options\.logger must be a pino logger or false/],
    [{ name: 'x', backend: {} }, TypeError, /options\.backend must be a Backend/],
    [{ name: 'x', onShrink: 'later' }, TypeError, /options\.onShrink must be a function/],
    [{ name: 'x', max: null }, TypeError, /options\.max must be a number, received null/],
    [{ name: 'x', max: NaN }, TypeError, /options\.max must be a number, received NaN/],
    [{ name: 'x', shutdownTimeout: Infinity }, RangeError, /received Infinity \(number\)/],
    [{ name: 'x', bootTimeout: 2 ** 31 }, RangeError, /options\.bootTimeout must be a positive integer up to 2147483647/],
    [{ name: 'x', shutdownTimeout: 2 ** 31 }, RangeError, /options\.shutdownTimeout must be a positive integer up to/],
    [{ name: 'x', handshakeTimeout: 2 ** 40 }, RangeError, /options\.handshakeTimeout must be a positive integer up to/],
    [{ name: 'x', maxFrameSize: 2 ** 40 }, RangeError, /options\.maxFrameSize must be an integer from 1024 to 4294967295/],
    [{ name: 'x', cancelGrace: -1 }, RangeError, /options\.cancelGrace must be a positive integer or Infinity/],
  ])('%j is refused', (options, Type, message) => {
    expect(() => new Pool(options as never)).toThrow(Type);
    expect(() => new Pool(options as never)).toThrow(message);
  });

  it('accepts Infinity where waiting forever makes sense', () => {
    const pool = new Pool({ name: 'x', timeout: Infinity, idleShutdownAfter: Infinity, logger: false });
    expect(pool.options.timeout).toBe(Infinity);
  });

  // Node fires a timer longer than 2^31-1 ms after 1 ms; there, such a wait means forever.
  it('takes a wait longer than the longest timer as Infinity where Infinity is allowed', () => {
    const pool = new Pool({ name: 'x', timeout: 2 ** 31, cancelGrace: 2 ** 40, logger: false });
    expect(pool.options).toMatchObject({ timeout: Infinity, cancelGrace: Infinity });
  });
});

describe('FLAME_LOG_LEVEL', () => {
  const saved = process.env.FLAME_LOG_LEVEL;
  afterAll(() => {
    if (saved === undefined) delete process.env.FLAME_LOG_LEVEL;
    else process.env.FLAME_LOG_LEVEL = saved;
  });

  it('names the variable when its level is unknown', () => {
    process.env.FLAME_LOG_LEVEL = 'verbose';
    expect(() => new Pool({ name: 'x' })).toThrow(ConfigurationError);
    expect(() => new Pool({ name: 'x' })).toThrow(/FLAME_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; it is "verbose"/);
  });
});

describe('call options', () => {
  const pool = new Pool({ name: 'call-options', logger: false });
  afterAll(() => pool.close());

  it.each([
    [{ timout: 5 }, /options\.timout is not a call option \(timeout, signal\)/],
    [{ signal: { aborted: false } }, /options\.signal must be an AbortSignal, received \{"aborted":false\}/],
    [{ signal: null }, /options\.signal must be an AbortSignal, received null/],
    [{ timeout: -1 }, /options\.timeout must be a positive integer or Infinity/],
  ])('%j is refused before anything runs', async (options, message) => {
    await expect(pool.call('tasks/basic#echo', [], options as never)).rejects.toThrow(message);
    expect(() => pool.cast('tasks/basic#echo', [], options as never)).toThrow(message);
    await expect(pool.placeChild('tasks/basic#echo', [], options as never)).rejects.toThrow(message);
    expect(() => pool.module('tasks/basic', options as never)).toThrow(message);
    expect(pool.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
  });
});
