/**
 * The one way the running settings change: a SIGHUP reload, `POST
 * /api/reload`, or an admin API edit (add, remove, weight, drain, restore).
 * The settings are always computed the same way — file and flags, read
 * again on a reload, with the runtime overlay on top (config/runtime-overlay.ts),
 * restart-only settings kept (config/reload.ts) — and applied through
 * `Instance.applySettings`, so an API change travels to the workers exactly
 * as a reload does. Changes run one at a time, in the order asked, and each
 * is recorded in the change log with who asked.
 */
import { acceptReload } from '../config/reload.js';
import type { Config } from '../config/config.js';
import { RuntimeOverlay } from '../config/runtime-overlay.js';
import { log } from '../log.js';
import { ChangeLog, type ChangeEntry } from './change-log.js';
import type { AppliedSettings, Instance } from './running-instance.js';

/** The flags and the config file read again: what a reload starts from (cli/options.ts reloadConfig). */
export type ReadSources = () =>
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

export interface ChangeResult {
  readonly entry: ChangeEntry;
  /** Top-level settings that changed. */
  readonly changed: readonly string[];
  /** Which proxy nodes confirmed the new version; absent when nothing was applied. */
  readonly applied?: AppliedSettings;
  /** A refused edit's HTTP status (404 unknown upstream, 409 conflict). */
  readonly status?: number;
}

/** Why an edit cannot be done: nothing is changed then. */
export interface EditRefusal {
  readonly status: number;
  readonly message: string;
}

/** An edit of the overlay; returns its refusal, or null once it has edited. */
export type OverlayEdit = (overlay: RuntimeOverlay, running: Config) => EditRefusal | null;

export class SettingsControl {
  readonly overlay = new RuntimeOverlay();
  readonly changes = new ChangeLog();
  private base: Config;
  private current: Config;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly instance: Instance,
    initial: Config,
    private readonly readSources: ReadSources,
  ) {
    this.base = initial;
    this.current = initial;
  }

  /** The settings in effect: file and flags, with the overlay. */
  get running(): Config {
    return this.current;
  }

  /** Read the file and flags again and apply them (with the overlay). Never throws: a bad file changes nothing. */
  reload(who: string): Promise<ChangeResult> {
    return this.serially(async () => {
      let read: ReturnType<ReadSources>;
      try {
        read = this.readSources();
      } catch (error) {
        read = { ok: false, errors: [error instanceof Error ? error.message : String(error)] };
      }
      if (!read.ok) {
        log.error('config reload failed; the running settings are kept', { errors: read.errors.join('; ') });
        return { entry: this.changes.record(who, 'reload', 'failed', read.errors.join('; ')), changed: [] };
      }
      for (const warning of read.warnings) log.warn(warning);
      this.base = read.config;
      const result = await this.applyOverlaid(who, 'reload');
      if (result.changed.length === 0) log.info('config reloaded: nothing changed');
      else log.info('config reloaded', { changed: result.changed.join(', ') });
      return result;
    });
  }

  /** An admin API change: `edit` the overlay, then apply. */
  edit(who: string, what: string, edit: OverlayEdit): Promise<ChangeResult> {
    return this.serially(async () => {
      const problem = edit(this.overlay, this.current);
      if (problem !== null) return { entry: this.changes.record(who, what, 'refused', problem.message), changed: [], status: problem.status };
      return this.applyOverlaid(who, what);
    });
  }

  private async applyOverlaid(who: string, what: string): Promise<ChangeResult> {
    const accepted = acceptReload(this.current, this.overlay.apply(this.base));
    for (const line of accepted.needsRestart) log.warn(`config reload: ${line}`);
    if (accepted.changed.length === 0) return { entry: this.changes.record(who, what, 'unchanged', ''), changed: [] };
    this.current = accepted.config;
    const applied = await this.instance.applySettings(accepted.config);
    const detail =
      `changed ${accepted.changed.join(', ')}; version ${applied.version}` +
      (applied.unconfirmed.length > 0 ? `, not yet confirmed by ${applied.unconfirmed.join(', ')}` : '');
    return { entry: this.changes.record(who, what, 'applied', detail), changed: accepted.changed, applied };
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
