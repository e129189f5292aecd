/**
 * Changes made at run time through the admin API (upstreams added, removed,
 * reweighted, drained), kept apart from the flags and the config file and
 * laid over them every time the settings are computed. So a SIGHUP reload
 * re-reads the file and the API's changes still hold: the overlay wins over
 * the file for the upstreams it names, until the API undoes the change or
 * the process restarts (it is not written back to the file).
 *
 * Chosen over editing the running Config in place, which a reload would
 * silently undo, and over writing the config file, which may be read-only,
 * generated, or shared by several instances.
 */
import type { Config } from './config.js';
import type { UpstreamTarget } from '../protocol/index.js';

export interface OverlayView {
  readonly added: readonly UpstreamTarget[];
  readonly removed: readonly string[];
  readonly weights: Readonly<Record<string, number>>;
  readonly drained: readonly string[];
}

export class RuntimeOverlay {
  /** Upstreams the API added, by id, in the order added. */
  private readonly added = new Map<string, UpstreamTarget>();
  private readonly removed = new Set<string>();
  private readonly weights = new Map<string, number>();
  private readonly drained = new Set<string>();

  /** The settings from file and flags with this overlay's changes on top. */
  apply(base: Config): Config {
    const upstreams: UpstreamTarget[] = [];
    const present = new Set<string>();
    const place = (target: UpstreamTarget): void => {
      if (present.has(target.id) || this.removed.has(target.id)) return;
      present.add(target.id);
      const weight = this.weights.get(target.id) ?? this.added.get(target.id)?.weight ?? target.weight;
      const draining = this.drained.has(target.id);
      const plain = { id: target.id, host: target.host, port: target.port, weight };
      upstreams.push(draining ? { ...plain, draining } : plain);
    };
    for (const target of base.upstreams) place(target);
    for (const target of this.added.values()) place(target);
    return { ...base, upstreams };
  }

  add(target: UpstreamTarget): void {
    this.removed.delete(target.id);
    this.weights.delete(target.id);
    this.added.set(target.id, { id: target.id, host: target.host, port: target.port, weight: target.weight });
  }

  remove(id: string): void {
    this.added.delete(id);
    this.weights.delete(id);
    this.drained.delete(id);
    this.removed.add(id);
  }

  setWeight(id: string, weight: number): void {
    this.weights.set(id, weight);
  }

  drain(id: string): void {
    this.drained.add(id);
  }

  restore(id: string): void {
    this.drained.delete(id);
  }

  view(): OverlayView {
    return {
      added: [...this.added.values()],
      removed: [...this.removed],
      weights: Object.fromEntries(this.weights),
      drained: [...this.drained],
    };
  }
}
