/**
 * Turning an undici error into a ProxyFailure (the status the client then
 * sees is outcome.ts's). Errors are switched on by their code, never their message.
 */
import { errors } from 'undici';
import type { ProxyFailure, ProxyFailureKind } from '../protocol/index.js';

const CONNECT_FAILURES: Record<string, ProxyFailureKind> = {
  ECONNREFUSED: 'upstream-refused',
  UND_ERR_CONNECT_TIMEOUT: 'upstream-connect-timeout',
  ETIMEDOUT: 'upstream-connect-timeout',
  EHOSTUNREACH: 'upstream-unreachable',
  ENETUNREACH: 'upstream-unreachable',
  ENOTFOUND: 'upstream-unreachable',
  EAI_AGAIN: 'upstream-unreachable',
};

/**
 * This process ran out of something (ephemeral ports, descriptors, socket
 * buffers): no sign about the upstream, so never a health mark against it, and
 * not worth another upstream, which needs the same resources.
 */
const LOCAL_RESOURCE_ERRORS: ReadonlySet<string> = new Set(['EADDRNOTAVAIL', 'EMFILE', 'ENFILE', 'ENOBUFS']);

const LATER_FAILURES: Record<string, ProxyFailureKind> = {
  ECONNRESET: 'upstream-reset',
  EPIPE: 'upstream-reset',
  UND_ERR_SOCKET: 'upstream-reset',
  UND_ERR_CLOSED: 'upstream-reset',
  UND_ERR_HEADERS_TIMEOUT: 'upstream-response-timeout',
  UND_ERR_BODY_TIMEOUT: 'upstream-response-timeout',
  HPE_INVALID_CONSTANT: 'upstream-protocol-error',
  UND_ERR_INFO: 'upstream-protocol-error',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'upstream-protocol-error',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'request-body-failed',
  UND_ERR_ABORTED: 'request-body-failed',
};

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return '';
}

export function classifyUpstreamError(
  error: unknown,
  upstreamId: string,
  requestBodyFailed: boolean,
): ProxyFailure {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (requestBodyFailed) return { kind: 'request-body-failed', upstreamId, message, connectFailed: false };
  if (LOCAL_RESOURCE_ERRORS.has(code)) return { kind: 'local-resources-exhausted', upstreamId, message: code, connectFailed: false };
  const connectKind = CONNECT_FAILURES[code];
  if (connectKind !== undefined) return { kind: connectKind, upstreamId, message: code, connectFailed: true };
  // undici's parser error for bytes that are not HTTP at all (no status line) carries no code: known by its class.
  const notHttp = code.startsWith('HPE_') || error instanceof errors.HTTPParserError;
  const kind = LATER_FAILURES[code] ?? (notHttp ? 'upstream-protocol-error' : 'upstream-reset');
  return { kind, upstreamId, message: code === '' ? message : `${code}: ${message}`, connectFailed: false };
}
