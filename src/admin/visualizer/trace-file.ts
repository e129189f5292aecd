/**
 * Record and replay: a trace file is NDJSON, a header line with the machine
 * definitions (so a trace is self-contained: a replay draws the charts of the
 * build that recorded it), then one line per feed frame. Past `maxBytes` the
 * file is rotated (PATH → PATH.1 → PATH.2 → PATH.3, the oldest deleted) and
 * the new file starts with the header again. Writes are appended in order
 * through one stream; a failing disk is logged once and the feed goes on.
 */
import { createReadStream, createWriteStream, openSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ChartModel } from './chart-model.js';
import type { FeedFrame, TraceHeader } from './frame.js';

const KEPT_ROTATIONS = 3;

export class TraceWriter {
  private stream: WriteStream | null = null;
  private written = 0;
  private failed = false;

  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
    private readonly charts: readonly ChartModel[],
    private readonly definitions: { readonly [kind: string]: string },
    private readonly onError: (error: Error) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.open();
  }

  private open(): void {
    // Opened at once, so a rotation can rename the file while its stream still writes to it.
    let fd: number;
    try {
      fd = openSync(this.path, 'w');
    } catch (error) {
      this.failed = true;
      this.onError(error as Error);
      return;
    }
    const stream = createWriteStream(this.path, { fd });
    stream.on('error', (error) => {
      if (this.failed) return;
      this.failed = true;
      this.onError(error);
    });
    this.stream = stream;
    this.written = 0;
    const header: TraceHeader = { type: 'trace', version: 1, startedAt: this.now(), charts: this.charts, definitions: this.definitions };
    this.write(JSON.stringify(header));
  }

  private write(line: string): void {
    const text = `${line}\n`;
    this.written += Buffer.byteLength(text);
    this.stream?.write(text);
  }

  frame(frame: FeedFrame): void {
    if (this.failed) return;
    this.write(JSON.stringify(frame));
    if (this.written >= this.maxBytes) this.rotate();
  }

  private rotate(): void {
    const previous = this.stream;
    for (let i = KEPT_ROTATIONS; i >= 1; i--) {
      const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
      const to = `${this.path}.${i}`;
      try {
        if (i === KEPT_ROTATIONS) rmSync(to, { force: true });
        statSync(from);
        renameSync(from, to);
      } catch {
        // Nothing to rotate at this place yet.
      }
    }
    // Its last writes land in PATH.1, under its new name.
    previous?.end();
    this.open();
  }

  /** Resolves once everything written so far is on disk. */
  close(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    if (stream === null) return Promise.resolve();
    return new Promise((resolve) => stream.end(() => resolve()));
  }
}

export interface Trace {
  readonly header: TraceHeader;
  readonly frames: readonly FeedFrame[];
}

export class TraceError extends Error {}

/** Reads a whole trace; a torn last line (the recorder was killed mid-write) is left out. */
export async function readTrace(path: string): Promise<Trace> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let header: TraceHeader | null = null;
  const frames: FeedFrame[] = [];
  let number = 0;
  let torn: string | null = null;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    if (torn !== null) throw new TraceError(`${path}:${torn}`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      torn = `${number}: not JSON`;
      continue;
    }
    const type = (value as { type?: unknown }).type;
    if (header === null) {
      if (type !== 'trace' || (value as { version?: unknown }).version !== 1) throw new TraceError(`${path}:1: not a balancebeam trace (no trace header, version 1)`);
      header = value as TraceHeader;
    } else if (type === 'frame') {
      frames.push(value as FeedFrame);
    } else {
      throw new TraceError(`${path}:${number}: expected a frame`);
    }
  }
  if (header === null) throw new TraceError(`${path}: empty file, not a trace`);
  return { header, frames };
}
