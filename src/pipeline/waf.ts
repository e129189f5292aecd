/**
 * The web application firewall as a request filter (src/waf/ is the engine).
 *
 * A request without a body is decided on its head, at once. One with a body
 * is decided on its head first (a head already over the threshold is
 * answered without reading the body), then the filter asks the body for its
 * prefix (up to --waf-body-limit, through the body-prefix seam of filter.ts),
 * says PENDING, and sends its `request.verdict` when the prefix is in: the
 * head's score and matches carry over, and only what the body adds is
 * evaluated. The body's held bytes go upstream first when it is forwarded.
 *
 * `block` answers 403 with a short body naming a request id (no rule detail
 * for the client); `detect` passes. Either way a request over the threshold
 * is logged (warn) with the id, the rule ids, the matched parts (truncated,
 * secrets redacted) and the score.
 */
import { nanoid } from 'nanoid';
import type { MailboxRouter } from '../actors/router.js';
import { log } from '../log.js';
import type { Address, Answer, RequestBodyFailure } from '../protocol/index.js';
import { outcomeOfBodyFailure } from '../proxy/outcome.js';
import type { WafCounters } from '../waf/counters.js';
import type { WafEngine } from '../waf/engine.js';
import type { RequestParts } from '../waf/request-parts.js';
import type { Evaluation, HeadEvaluation } from '../waf/rule-set.js';
import { PENDING, type BodyPrefixSink, type Pending, type RequestFilter, type RequestView } from './filter.js';

export class WafFilter implements RequestFilter {
  readonly name = 'waf';
  private readonly threshold: number;
  private readonly bodyLimit: number;
  private readonly blocking: boolean;

  constructor(
    private readonly engine: WafEngine,
    private readonly router: MailboxRouter,
    /** The process's counters for /metrics, kept across reloads; null: nobody reads them. */
    private readonly counters: WafCounters | null = null,
  ) {
    this.threshold = engine.settings.threshold;
    this.bodyLimit = engine.settings.bodyLimit;
    this.blocking = engine.settings.mode === 'block';
  }

  check(request: RequestView, replyTo: Address): Answer | null | Pending {
    const { req } = request;
    if (this.counters !== null) this.counters.inspected++;
    let parts: RequestParts;
    let head: Evaluation;
    try {
      parts = this.engine.parts({ method: req.method ?? '', url: req.url ?? '/', rawHeaders: req.rawHeaders });
      head = this.engine.evaluate(parts);
    } catch (error) {
      return this.failed(request, error);
    }
    if (head.score >= this.threshold || request.body === null || this.bodyLimit === 0) return this.verdict(request, head);
    request.body.holdPrefix(this.bodyLimit, new BodyInspection(this, request, parts, { ...head, items: parts.items.length }, replyTo));
    return PENDING;
  }

  /** A bug of the engine's must not take a request (or the process) down: logged, and the request passes. */
  private failed(request: RequestView, error: unknown): null {
    log.error('waf failed on a request; passed uninspected', { client: request.clientIp, error: error instanceof Error ? error.stack : String(error) });
    return null;
  }

  /** The prefix is in: the whole request's evaluation decides, and the verdict goes to the connection. */
  bodyInspected(inspection: BodyInspection, prefix: Buffer, complete: boolean): void {
    const { request, parts, head } = inspection;
    let answer: Answer | null;
    try {
      parts.addBody(prefix, request.req.headers['content-type']);
      answer = this.verdict(request, this.engine.evaluate(parts, head), complete ? null : prefix.length);
    } catch (error) {
      answer = this.failed(request, error);
    }
    this.router.send(inspection.replyTo, { type: 'request.verdict', requestId: request.id, answer });
  }

  /** The body failed before its prefix was in: answered as any failed body is (413, 408, 400). */
  bodyFailed(inspection: BodyInspection, failure: RequestBodyFailure): void {
    this.router.send(inspection.replyTo, { type: 'request.verdict', requestId: inspection.request.id, answer: { outcome: outcomeOfBodyFailure(failure) } });
  }

  private verdict(request: RequestView, evaluation: Evaluation, inspectedBytes: number | null = null): Answer | null {
    if (evaluation.score < this.threshold) return null;
    const requestId = nanoid(12);
    const { req } = request;
    this.counters?.flagged(this.blocking, evaluation, requestId);
    log.warn(this.blocking ? 'waf blocked' : 'waf detected', {
      requestId,
      client: request.clientIp,
      method: req.method,
      url: req.url !== undefined && req.url.length > 200 ? `${req.url.slice(0, 200)}…` : req.url,
      score: evaluation.score,
      rules: evaluation.matches.map((match) => match.id).join(','),
      matches: evaluation.matches.map((match) => `${match.id} ${match.category} ${match.part}: ${match.matched}`).join(' | '),
      ...(inspectedBytes === null ? {} : { bodyInspected: `first ${inspectedBytes} bytes` }),
    });
    if (!this.blocking) return null;
    return {
      outcome: 'waf-blocked',
      headers: { 'x-request-id': requestId },
      body: `403 Forbidden: this request was blocked by the web application firewall.\nrequest id: ${requestId}\n`,
      reason: `waf: rules ${evaluation.matches.map((match) => match.id).join(',')}, score ${evaluation.score}`,
    };
  }
}

/** One request waiting for its body prefix: what the filter needs back when it arrives. */
class BodyInspection implements BodyPrefixSink {
  constructor(
    private readonly filter: WafFilter,
    readonly request: RequestView,
    readonly parts: RequestParts,
    readonly head: HeadEvaluation,
    readonly replyTo: Address,
  ) {}

  prefixReady(prefix: Buffer, complete: boolean): void {
    this.filter.bodyInspected(this, prefix, complete);
  }

  prefixFailed(failure: RequestBodyFailure): void {
    this.filter.bodyFailed(this, failure);
  }
}
