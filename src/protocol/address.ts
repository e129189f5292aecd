/**
 * Mailbox addresses. Every actor that others talk to has one: `<node>/<name>`,
 * where `<node>` names the process (`p` for the primary, `w1`, `w2`, ... for
 * workers) so the router can tell a local mailbox from a remote one.
 */
export type NodeId = string;
export type Address = `${NodeId}/${string}`;

/** Well-known names of the actors addressed by role rather than by id. */
export const PRIMARY_NODE: NodeId = 'p';
export const RATE_LIMITER: Address = 'p/rate-limiter';
/** Each process's holder of rate-limit leases (the memory store's local part). */
export const leaseHolderAddress = (node: NodeId): Address => `${node}/rate-limit-leases`;
export const LIFECYCLE: Address = 'p/lifecycle';
/** The primary's current settings: workers ask here at start (`settings.wanted`). */
export const SETTINGS: Address = 'p/settings';
export const settingsAddress = (node: NodeId): Address => `${node}/settings`;
/** Nobody sends to the health supervisor; its mailbox is how inspection finds it. */
export const HEALTH_SUPERVISOR: Address = 'p/health-supervisor';

export const upstreamAddress = (upstreamId: string): Address => `p/upstream/${upstreamId}`;
export const balancerAddress = (node: NodeId): Address => `${node}/balancer`;
/** Each process's metrics (`metrics.wanted` → `metrics.report`), asked by the admin server in the primary. */
export const metricsAddress = (node: NodeId): Address => `${node}/metrics`;
