import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IncomingMessage } from 'node:http';
import Docker from 'dockerode';
import { ConfigurationError } from '@flame-node/core';
import { DockerEngineError } from './errors';
import { describeEndpoint, explainConnectError, type DockerEndpoint } from './socket';

/** Control calls (inspect, create, start, remove...) that take longer than this have failed. */
export const API_TIMEOUT_MS = 60_000;

/** How long the first ping may take before the daemon counts as unreachable. */
export const PING_TIMEOUT_MS = 5_000;

type QueryValue = string | number | boolean | object | undefined;

/** One Engine API request. */
export interface EngineRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Unversioned path, e.g. `/containers/create`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: unknown;
  /** Aborts the request (and, for streams, the stream). */
  readonly signal?: AbortSignal;
  /** Defaults to `API_TIMEOUT_MS`; for streams it only bounds the wait for the headers. */
  readonly timeoutMs?: number;
}

/** A streaming answer: the response once its headers are in, and a way to drop it. */
export interface EngineStream {
  readonly response: IncomingMessage;
  close(): void;
}

const OK_STATUSES = { 200: true, 201: true, 204: true } as const;

/**
 * A thin typed client over dockerode's modem. Going through `modem.dial` directly lets us keep
 * the create body out of the query string, and see a streaming answer's headers: the daemon
 * sends the headers of a wait request only once the wait is registered.
 */
export class EngineClient {
  readonly endpoint: DockerEndpoint;
  readonly address: string;
  private readonly modem: Docker['modem'];

  constructor(endpoint: DockerEndpoint) {
    this.endpoint = endpoint;
    this.address = describeEndpoint(endpoint);
    this.modem = createModem(endpoint);
  }

  /** Sends a request and resolves with its parsed JSON answer (or undefined when empty). */
  async json<T>(request: EngineRequest): Promise<T> {
    const timeoutMs = request.timeoutMs ?? API_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;

    try {
      const result = await this.dial(request, signal, false);
      return (Buffer.isBuffer(result) && result.length === 0 ? undefined : result) as T;
    } catch (error) {
      throw this.failure(request, error, timeout.aborted && !request.signal?.aborted, timeoutMs);
    }
  }

  /** Sends a request whose answer is a stream; resolves as soon as the headers are in. */
  async stream(request: EngineRequest): Promise<EngineStream> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted) onAbort();

    const timeoutMs = request.timeoutMs ?? API_TIMEOUT_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);

    try {
      const response = (await this.dial(request, controller.signal, true)) as IncomingMessage;
      const close = (): void => {
        request.signal?.removeEventListener('abort', onAbort);
        response.destroy();
        controller.abort();
      };
      response.once('close', () => request.signal?.removeEventListener('abort', onAbort));
      return { response, close };
    } catch (error) {
      request.signal?.removeEventListener('abort', onAbort);
      throw this.failure(request, error, timedOut, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Checks that the daemon answers. A daemon that accepts the connection and says nothing
   * would otherwise hang every later call, so this one has a short timeout of its own.
   */
  async ping(signal?: AbortSignal, timeoutMs = PING_TIMEOUT_MS): Promise<void> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      await this.dial({ method: 'GET', path: '/_ping' }, combined, false);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) throw explainConnectError(this.endpoint, error, timeoutMs);
      if (typeof (error as { statusCode?: unknown }).statusCode === 'number') {
        throw this.failure({ method: 'GET', path: '/_ping' }, error, false, timeoutMs);
      }
      throw explainConnectError(this.endpoint, error);
    }
  }

  private dial(request: EngineRequest, signal: AbortSignal, isStream: boolean): Promise<unknown> {
    const query = Object.fromEntries(
      Object.entries(request.query ?? {}).filter(([, value]) => value !== undefined),
    );
    const hasQuery = Object.keys(query).length > 0;

    return new Promise((resolve, reject) => {
      this.modem.dial(
        {
          path: hasQuery ? `${request.path}?` : request.path,
          method: request.method,
          // An empty body object makes the modem send no body at all.
          options: { _query: query, _body: request.body ?? {} },
          isStream,
          statusCodes: OK_STATUSES,
          abortSignal: signal,
        },
        (error, result) => (error ? reject(error) : resolve(result)),
      );
    });
  }

  private failure(
    request: EngineRequest,
    error: unknown,
    timedOut: boolean,
    timeoutMs: number,
  ): Error {
    const { method, path: requestPath } = request;
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number') {
      return new DockerEngineError(method, requestPath, status, engineMessage(error), error);
    }
    if (timedOut) {
      const said = `no answer within ${timeoutMs} ms`;
      return new DockerEngineError(method, requestPath, 0, said, error);
    }
    if (request.signal?.aborted) {
      return new DockerEngineError(method, requestPath, 0, 'aborted', error);
    }
    return explainConnectError(this.endpoint, error);
  }
}

function createModem(endpoint: DockerEndpoint): Docker['modem'] {
  const options = modemOptions(endpoint);
  try {
    return new Docker(options).modem;
  } catch (error) {
    // The modem parses DOCKER_HOST and DOCKER_CERT_PATH itself, even when we do not use them.
    const said = error instanceof Error ? error.message : String(error);
    throw new ConfigurationError(
      `cannot set up a Docker client for ${describeEndpoint(endpoint)}: ${said} ` +
        '(check DOCKER_HOST and DOCKER_CERT_PATH)',
      { cause: error },
    );
  }
}

/** The daemon's own words from a failed dockerode request. */
function engineMessage(error: unknown): string {
  const json = (error as { json?: unknown }).json;
  if (json && typeof json === 'object' && 'message' in json) {
    return String((json as { message: unknown }).message);
  }
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  // A streaming request's error body is not parsed: the daemon's words are in the message,
  // behind dockerode's own "(HTTP code 500) unexpected - ", which the status already says.
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

/**
 * Options for dockerode's modem. Every connection field is set explicitly because the modem
 * also reads DOCKER_HOST on its own, and our resolution (which may have chosen a socket path
 * over DOCKER_HOST) must win.
 */
function modemOptions(endpoint: DockerEndpoint): Docker.DockerOptions {
  const base = { host: undefined, port: undefined, timeout: undefined, version: undefined };
  if (endpoint.kind !== 'tcp') {
    return { ...base, socketPath: endpoint.path, protocol: 'http' };
  }
  if (!endpoint.tlsCertDir) {
    return { ...base, host: endpoint.host, port: endpoint.port, protocol: 'http' };
  }

  const read = (file: string): Buffer => {
    const full = path.join(endpoint.tlsCertDir as string, file);
    try {
      return fs.readFileSync(full);
    } catch (error) {
      throw new ConfigurationError(
        `cannot read ${full} for TLS to ${describeEndpoint(endpoint)}: set DOCKER_CERT_PATH ` +
          'to the directory holding ca.pem, cert.pem and key.pem',
        { cause: error },
      );
    }
  };
  return {
    ...base,
    host: endpoint.host,
    port: endpoint.port,
    protocol: 'https',
    ca: read('ca.pem'),
    cert: read('cert.pem'),
    key: read('key.pem'),
  };
}

/**
 * Reads a streaming answer to its end and parses it as JSON. Rejects when the stream breaks
 * off before its end (the daemon went away, or the request was closed).
 */
export function readJsonBody<T>(response: IncomingMessage): Promise<T> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.once('end', () => {
      ended = true;
      const text = Buffer.concat(chunks).toString('utf8').trim();
      try {
        resolve((text === '' ? {} : JSON.parse(text)) as T);
      } catch {
        reject(new Error(`unreadable answer from the Docker daemon: ${text.slice(0, 200)}`));
      }
    });
    response.once('error', (error) => reject(error));
    response.once('close', () => {
      if (!ended) reject(new Error('the Docker daemon closed the answer before it was complete'));
    });
  });
}

/**
 * Reads a stream of JSON values, one per line (the Engine's progress and event streams),
 * handing each parsed line to `onValue` and each unreadable one to `onUnreadable`. Resolves
 * `true` once the stream has ended, `false` if it broke off or errored first.
 */
export function readJsonLines(
  stream: NodeJS.ReadableStream,
  onValue: (value: unknown) => void,
  onUnreadable: (line: string) => void = () => undefined,
): Promise<boolean> {
  return new Promise((resolve) => {
    let pending = '';
    const take = (line: string): void => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        onUnreadable(line);
        return;
      }
      onValue(value);
    };

    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(take);
    });
    let ended = false;
    stream.once('end', () => {
      ended = true;
      take(pending);
      resolve(true);
    });
    stream.once('error', () => resolve(false));
    stream.once('close', () => {
      if (!ended) resolve(false);
    });
  });
}
