import type { NodeId } from './address.js';

/** A worker's listener is bound and accepting. */
export interface WorkerListening {
  readonly type: 'worker.listening';
  readonly node: NodeId;
  readonly address: string;
}

/** A worker could not start serving (bind failed, ...). The primary stops the instance. */
export interface WorkerFailed {
  readonly type: 'worker.failed';
  readonly node: NodeId;
  readonly reason: string;
}
