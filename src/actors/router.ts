/**
 * The mailbox router: delivers typed messages to actors by address.
 *
 * An address names its process (`p/rate-limiter`, `w2/conn/V1St...`), so the
 * router either hands a message to a local mailbox or passes it down a link to
 * another process. A worker has one link, to the primary; the primary has one
 * link per worker and forwards worker-to-worker traffic. Messages to a mailbox
 * that is gone (a closed connection) are dropped and counted, never thrown.
 */
import type { Address, NodeId, RoutedMessage } from '../protocol/index.js';

/** Anything that accepts messages: an xstate actor, or a plain object for simple roles. */
export interface Mailbox<M = RoutedMessage> {
  send(message: M): void;
}

/** What crosses a process boundary: a message and where it is going. */
export interface Envelope {
  readonly kind: 'balancebeam.envelope';
  readonly to: Address;
  readonly message: RoutedMessage;
}

export interface Link {
  send(envelope: Envelope): void;
}

export function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'balancebeam.envelope';
}

export function nodeOf(address: Address): NodeId {
  return address.slice(0, address.indexOf('/'));
}

/** The part of an address after its node: what `register` takes. */
export function localNameOf(address: Address): string {
  return address.slice(address.indexOf('/') + 1);
}

/**
 * Sees each message sent from this process (not those it only passes on for another): the
 * visualizer's feed. It runs inside `send`, so it must be quick, allocate nothing and not throw.
 */
export interface RouterTap {
  sent(to: Address, message: RoutedMessage): void;
  /** A message from another process, about to be delivered here or passed on (its sender's tap recorded it). */
  arrived(to: Address, message: RoutedMessage): void;
}

export class MailboxRouter {
  // Each mailbox accepts its own subset of messages; routing by address is what keeps them apart.
  private readonly mailboxes = new Map<Address, Mailbox>();
  private readonly links = new Map<NodeId, Link>();
  /** Where messages for unknown nodes go: a worker's link to the primary. */
  private uplink: Link | null = null;
  /** Messages whose mailbox no longer exists. */
  dropped = 0;
  /** One at a time; null (the default) costs one comparison per message. */
  tap: RouterTap | null = null;

  constructor(readonly node: NodeId) {}

  /** `M` is whatever the mailbox accepts; the router hands it the routed messages addressed to it. */
  register<M>(name: string, mailbox: Mailbox<M>): Address {
    const address: Address = `${this.node}/${name}`;
    this.mailboxes.set(address, mailbox as Mailbox);
    return address;
  }

  unregister(address: Address): void {
    this.mailboxes.delete(address);
  }

  /** Every local mailbox with its address: inspection finds the running actors here. */
  forEachMailbox(visit: (mailbox: Mailbox, address: Address) => void): void {
    this.mailboxes.forEach(visit);
  }

  /** Primary side: messages for `node` go down this link. */
  connectNode(node: NodeId, link: Link): void {
    this.links.set(node, link);
  }

  disconnectNode(node: NodeId): void {
    this.links.delete(node);
  }

  /** Worker side: every message not for this process goes up this link. */
  connectUplink(link: Link): void {
    this.uplink = link;
  }

  send(to: Address, message: RoutedMessage): void {
    if (this.tap !== null) this.tap.sent(to, message);
    this.deliver(to, message);
  }

  /** An envelope arrived from another process: deliver it here or pass it on (its sender's tap saw it). */
  receive(envelope: Envelope): void {
    if (this.tap !== null) this.tap.arrived(envelope.to, envelope.message);
    this.deliver(envelope.to, envelope.message);
  }

  private deliver(to: Address, message: RoutedMessage): void {
    const mailbox = this.mailboxes.get(to);
    if (mailbox !== undefined) {
      mailbox.send(message);
      return;
    }
    const node = nodeOf(to);
    if (node === this.node) {
      this.dropped++;
      return;
    }
    const link = this.links.get(node) ?? this.uplink;
    if (link === null) {
      this.dropped++;
      return;
    }
    link.send({ kind: 'balancebeam.envelope', to, message });
  }
}
