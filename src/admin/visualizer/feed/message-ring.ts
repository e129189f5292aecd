/**
 * The router traffic of one process since its last batch: fixed-size records
 * (time, from, to, type) in preallocated columns, so recording a message
 * writes four slots and allocates nothing (the strings already exist: an
 * address, a message type). Past `capPerSecond` records in a second, or a
 * full ring, a message is counted as dropped instead; the page shows drops.
 */
import type { FeedMessage } from '../../../protocol/index.js';

export class MessageRing {
  private readonly times: Float64Array;
  private readonly froms: string[];
  private readonly tos: string[];
  private readonly types: string[];
  private length = 0;
  private secondStartedAt = 0;
  private inThisSecond = 0;
  dropped = 0;

  constructor(
    private readonly capacity: number,
    private readonly capPerSecond: number,
  ) {
    this.times = new Float64Array(capacity);
    this.froms = new Array<string>(capacity).fill('');
    this.tos = new Array<string>(capacity).fill('');
    this.types = new Array<string>(capacity).fill('');
  }

  record(time: number, from: string, to: string, type: string): void {
    if (time - this.secondStartedAt >= 1000) {
      this.secondStartedAt = time;
      this.inThisSecond = 0;
    }
    if (this.inThisSecond >= this.capPerSecond || this.length === this.capacity) {
      this.dropped++;
      return;
    }
    this.inThisSecond++;
    const slot = this.length++;
    this.times[slot] = time;
    this.froms[slot] = from;
    this.tos[slot] = to;
    this.types[slot] = type;
  }

  /** The records since the last drain, as plain data for a batch; empties the ring. */
  drain(): { messages: FeedMessage[]; dropped: number } {
    const messages: FeedMessage[] = new Array<FeedMessage>(this.length);
    for (let i = 0; i < this.length; i++) messages[i] = [this.times[i] as number, this.froms[i] as string, this.tos[i] as string, this.types[i] as string];
    const dropped = this.dropped;
    this.length = 0;
    this.dropped = 0;
    return { messages, dropped };
  }
}
