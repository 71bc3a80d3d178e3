import { readJsonLines, type EngineClient, type EngineStream } from './engine';

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
    const seen = readJsonLines(this.stream.response, (value) => {
      const action = (value as EngineEvent | null)?.Action;
      if (action === 'oom') this.oom = true;
      if (action === 'die') {
        this.settle(this.oom);
        this.stream.close();
      }
    });
    // Ended or broken without a `die`: no verdict (settling twice is a no-op).
    void seen.then(() => this.settle(undefined));
  }
}
