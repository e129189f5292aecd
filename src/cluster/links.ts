/**
 * Router links over Node's cluster IPC channel: how typed messages cross
 * between the primary and its workers.
 */
import type { Worker } from 'node:cluster';
import { isEnvelope, type Link, type MailboxRouter } from '../actors/router.js';

/** Primary side: route `node`'s messages to this worker, and deliver what it sends. */
export function linkWorker(router: MailboxRouter, node: string, worker: Worker): void {
  const link: Link = {
    send: (envelope) => {
      if (worker.isConnected()) worker.send(envelope);
    },
  };
  router.connectNode(node, link);
  worker.on('message', (message: unknown) => {
    if (isEnvelope(message)) router.receive(message);
  });
}

/** Worker side: everything not for this process goes to the primary. */
export function linkToPrimary(router: MailboxRouter): void {
  router.connectUplink({
    send: (envelope) => {
      if (process.connected) process.send?.(envelope);
    },
  });
  process.on('message', (message: unknown) => {
    if (isEnvelope(message)) router.receive(message);
  });
}
