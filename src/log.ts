/**
 * Structured logs: one JSON object per line on stderr.
 *
 * Lines are gathered and written once per turn of the event loop, so a busy
 * worker pays one write for many request lines rather than one syscall each.
 * At `warn` and above nothing is logged per request.
 */
import { writeSync } from 'node:fs';

import type { LogLevel } from './protocol/index.js';

export type { LogLevel } from './protocol/index.js';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

const FLUSH_AT_BYTES = 64 * 1024;

export class Logger {
  private pending = '';
  private flushScheduled = false;
  private threshold: number;

  constructor(
    level: LogLevel,
    private node = 'p',
    private readonly write: (text: string) => void = (text) => process.stderr.write(text),
  ) {
    this.threshold = RANK[level];
  }

  configure(level: LogLevel, node: string): void {
    this.threshold = RANK[level];
    this.node = node;
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return RANK[level] >= this.threshold;
  }

  debug(msg: string, fields?: LogFields): void {
    if (RANK.debug >= this.threshold) this.emit('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (RANK.info >= this.threshold) this.emit('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (RANK.warn >= this.threshold) this.emit('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    if (RANK.error >= this.threshold) this.emit('error', msg, fields);
  }

  /** Write what is pending now, synchronously: before exit, or when the loop may not turn again. */
  flushSync(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    try {
      writeSync(2, text);
    } catch {
      // stderr is gone; nothing left to tell.
    }
  }

  private emit(level: string, msg: string, fields: LogFields | undefined): void {
    const record = { time: new Date().toISOString(), level, node: this.node, msg, ...fields };
    this.pending += JSON.stringify(record) + '\n';
    if (this.pending.length >= FLUSH_AT_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.write(text);
  };
}

/** The process's logger; configured once at start-up from `--log-level`. */
export const log = new Logger('info');
