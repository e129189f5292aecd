/**
 * The admin change log: every change to the running settings (an API call,
 * a SIGHUP reload) with who asked, what, when and how it ended. Each entry
 * is also a log line (`settings change`); the last CAPACITY are kept for
 * `GET /api/changes` and the visualizer, oldest dropped first.
 */
import { log } from '../log.js';

export interface ChangeEntry {
  /** 1, 2, ... for the life of the process: a reader polling for new entries asks for those after one. */
  readonly seq: number;
  /** ISO 8601. */
  readonly time: string;
  /** `admin API (token holder) from 127.0.0.1`, `SIGHUP`, ... */
  readonly who: string;
  /** `drain 127.0.0.1:8080`, `reload`, `weight 127.0.0.1:8081 = 3`, ... */
  readonly what: string;
  /** `applied`, `unchanged`, `refused` (a bad request changes nothing) or `failed` (the settings were invalid). */
  readonly result: 'applied' | 'unchanged' | 'refused' | 'failed';
  /** Which settings changed, or why it was refused or failed. */
  readonly detail: string;
}

export const CHANGE_LOG_CAPACITY = 500;

export class ChangeLog {
  private readonly entries: ChangeEntry[] = [];
  private seq = 0;

  constructor(private readonly capacity = CHANGE_LOG_CAPACITY) {}

  record(who: string, what: string, result: ChangeEntry['result'], detail: string): ChangeEntry {
    const entry: ChangeEntry = { seq: ++this.seq, time: new Date().toISOString(), who, what, result, detail };
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    const fields = { who, what, result, detail };
    if (result === 'failed') log.error('settings change', fields);
    else if (result === 'refused') log.warn('settings change', fields);
    else log.info('settings change', fields);
    return entry;
  }

  /** Entries after `seq` (all with 0), oldest first. */
  since(seq = 0): ChangeEntry[] {
    return this.entries.filter((entry) => entry.seq > seq);
  }
}
