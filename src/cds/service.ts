/**
 * What a CDS service is: its discovery definition plus a handler that never sees HTTP.
 * Discovery and routes are both built from one list of these.
 */
import type { Logger } from '../logging.js';
import type { PrefetchResolver } from './prefetch.js';
import type { CdsRequest, CdsResponse, CdsServiceDefinition } from '../cds-hooks/index.js';

export interface HandlerContext {
  /** Prefetched data, completed from the FHIR server with the client's token when needed. */
  readonly data: PrefetchResolver;
  /** Child logger for this call (hookInstance, serviceId); never log tokens or patient ids. */
  readonly log: Logger;
  /**
   * The caller's trust domain (issuer and tenant of its JWT, or the local domain when calls are
   * not authenticated): stored results are kept and served only within it.
   */
  readonly domain: string;
  /**
   * Called by a handler whose answer is final (a complete result or a final "not analysed", not
   * "in progress"): the same request, in the same domain, may then be answered with the same
   * bytes from the answer store. Absent when nothing stores answers.
   */
  readonly final?: (() => void) | undefined;
}

export interface CdsService {
  readonly definition: CdsServiceDefinition;
  /**
   * Answers one validated request envelope (the handler validates its own context).
   *
   * @throws AppError - CDS_BAD_REQUEST, DATA_UNAVAILABLE, DICOM_*, … mapped to HTTP by the http layer
   */
  handle(request: CdsRequest, ctx: HandlerContext): Promise<CdsResponse>;
}
