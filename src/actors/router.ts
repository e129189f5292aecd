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

/**
 * Client connections' mailboxes, one slot each in arrays reused through a free
 * list, rather than Map entries: a connection is registered for its whole life,
 * and with a connection per request the Map's churn made V8 promote the actors
 * it had held (a rehashed table's obsolete copy, in the old generation, keeps
 * its entries until a full GC): in a churn of 50 live actors, 14× the promoted
 * bytes, 4× the full GCs and 11 µs of CPU per connection (BENCHMARKS.md,
 * optimisation log). A slot is cleared in place; the arrays grow to the most
 * connections open at once and stay.
 */
class ConnectionSlots {
  private readonly mailboxes: (Mailbox | null)[] = [];
  /** The address each slot is held under: a message for an earlier holder of the slot is not delivered. */
  private readonly addresses: (Address | null)[] = [];
  private readonly free: number[] = [];

  /** `<node>/conn/<slot>.<id>`: the slot says where, the nanoid keeps every address unique. */
  reserve(node: NodeId, id: string): Address {
    const slot = this.free.pop() ?? this.mailboxes.length;
    const address: Address = `${node}/conn/${slot}.${id}`;
    this.mailboxes[slot] = null;
    this.addresses[slot] = address;
    return address;
  }

  fill(address: Address, slot: number, mailbox: Mailbox): void {
    if (this.addresses[slot] === address) this.mailboxes[slot] = mailbox;
  }

  get(address: Address, slot: number): Mailbox | undefined {
    return this.addresses[slot] === address ? (this.mailboxes[slot] ?? undefined) : undefined;
  }

  release(address: Address, slot: number): void {
    if (this.addresses[slot] !== address) return;
    this.mailboxes[slot] = null;
    this.addresses[slot] = null;
    this.free.push(slot);
  }

  forEach(visit: (mailbox: Mailbox, address: Address) => void): void {
    for (let slot = 0; slot < this.mailboxes.length; slot++) {
      const mailbox = this.mailboxes[slot];
      const address = this.addresses[slot];
      if (mailbox !== null && mailbox !== undefined && address !== null && address !== undefined) visit(mailbox, address);
    }
  }
}

export class MailboxRouter {
  // Each mailbox accepts its own subset of messages; routing by address is what keeps them apart.
  private readonly mailboxes = new Map<Address, Mailbox>();
  private readonly connections = new ConnectionSlots();
  /** `<node>/conn/`: where a connection slot's number starts in its address. */
  private readonly connectionPrefix: string;
  private readonly links = new Map<NodeId, Link>();
  /** Where messages for unknown nodes go: a worker's link to the primary. */
  private uplink: Link | null = null;
  /** Messages whose mailbox no longer exists. */
  dropped = 0;
  /** One at a time; null (the default) costs one comparison per message. */
  tap: RouterTap | null = null;

  constructor(readonly node: NodeId) {
    this.connectionPrefix = `${node}/conn/`;
  }

  /** `M` is whatever the mailbox accepts; the router hands it the routed messages addressed to it. */
  register<M>(name: string, mailbox: Mailbox<M>): Address {
    const address: Address = `${this.node}/${name}`;
    this.mailboxes.set(address, mailbox as Mailbox);
    return address;
  }

  /**
   * A new client connection's address, `<node>/conn/<slot>.<id>`, in a slot of its own (see
   * ConnectionSlots): `registerConnection` puts its actor there once started, `unregister` frees it.
   */
  reserveConnection(id: string): Address {
    return this.connections.reserve(this.node, id);
  }

  registerConnection<M>(address: Address, mailbox: Mailbox<M>): void {
    const slot = this.slotOf(address);
    if (slot !== -1) this.connections.fill(address, slot, mailbox as Mailbox);
  }

  unregister(address: Address): void {
    const slot = this.slotOf(address);
    if (slot !== -1) this.connections.release(address, slot);
    else this.mailboxes.delete(address);
  }

  /** Every local mailbox with its address: inspection finds the running actors here. */
  forEachMailbox(visit: (mailbox: Mailbox, address: Address) => void): void {
    this.mailboxes.forEach(visit);
    this.connections.forEach(visit);
  }

  /** The connection slot an address names, or -1 (not `<node>/conn/<digits>.…`: a mailbox of the Map). */
  private slotOf(address: Address): number {
    const prefix = this.connectionPrefix;
    if (!address.startsWith(prefix)) return -1;
    let slot = 0;
    let i = prefix.length;
    for (; i < address.length; i++) {
      const digit = address.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      slot = slot * 10 + digit;
    }
    return i > prefix.length && address.charCodeAt(i) === 46 ? slot : -1;
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
    const slot = this.slotOf(to);
    const mailbox = slot === -1 ? this.mailboxes.get(to) : this.connections.get(to, slot);
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
