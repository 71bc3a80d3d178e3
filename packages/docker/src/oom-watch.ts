import type { EngineClient, EngineStream } from './engine';

/** One line of the daemon's `/events` stream, as far as we read it. */
interface EngineEvent {
  Action?: string;
}

/**
 * Tells an out-of-memory kill from any other exit of one container, from the daemon's event
 * stream. Inspecting the container after its exit cannot: AutoRemove often deletes it first,
 * and the `OOMKilled` flag goes with it. The daemon sends a container's `oom` event before its
 * `die` event, so once `die` has arrived the answer is final.
 */
export class OomWatch {
  /** True once `oom` came before `die`, false once `die` came alone, undefined if the stream broke. */
  readonly verdict: Promise<boolean | undefined>;

  private oom = false;
  private settle!: (oomKilled: boolean | undefined) => void;

  private constructor(private readonly stream: EngineStream) {
    this.verdict = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.follow();
  }

  /**
   * Subscribes to the container's `oom` and `die` events. `since` (seconds since the epoch,
   * taken before the container was created) makes the daemon replay any event sent before
   * the subscription was in place.
   */
  static async open(client: EngineClient, containerId: string, since: number): Promise<OomWatch> {
    const stream = await client.stream({
      method: 'GET',
      path: '/events',
      query: {
        since: String(since),
        filters: { type: ['container'], container: [containerId], event: ['oom', 'die'] },
      },
    });
    return new OomWatch(stream);
  }

  close(): void {
    this.stream.close();
    this.settle(undefined);
  }

  private follow(): void {
    const { response } = this.stream;
    let pending = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        this.read(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    });
    const broken = (): void => this.settle(undefined);
    response.once('end', broken);
    response.once('close', broken);
    response.once('error', broken);
  }

  private read(line: string): void {
    if (line.trim() === '') return;
    let event: EngineEvent;
    try {
      event = JSON.parse(line) as EngineEvent;
    } catch {
      return;
    }
    if (event.Action === 'oom') this.oom = true;
    if (event.Action === 'die') {
      this.settle(this.oom);
      this.stream.close();
    }
  }
}
