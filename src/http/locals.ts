import type { Logger } from '../logging.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /** Per-request values set by our middleware (res.locals). */
    interface Locals {
      log: Logger;
      /** `iss` of the verified client JWT; absent in unauthenticated development mode. */
      clientIss?: string;
      /** The caller's trust domain (see trust-domain.ts); set by `authenticate`. */
      domain?: string;
      /** Where the router that took the request is mounted (e.g. `/cds-services`), for metrics. */
      mount?: string;
    }
  }
}
export {};
