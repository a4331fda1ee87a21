/**
 * Warnings for per-issuer limits (rate limit reached, replay-cache share full). A flooding issuer
 * would otherwise write one line per refused request; here each (limit, issuer) is logged at most
 * once per interval, with the number of refusals since its previous line.
 */

import type { Logger } from '../logging.js';

/** The part of a logger the limit warnings need. */
export type WarnLogger = Pick<Logger, 'warn'>;

/** Which limit refused a request: the AppError code it answered with. */
export type LimitCode = 'RATE_LIMITED' | 'REPLAY_CACHE_FULL';

/** Records one refusal; logs it when the interval for this (code, issuer) has passed. */
export type LimitLog = (code: LimitCode, iss: string, retryAfterSeconds: number) => void;

const MESSAGES: Readonly<Record<LimitCode, string>> = {
  RATE_LIMITED: 'client issuer over its rate limit: answering 429 with Retry-After',
  REPLAY_CACHE_FULL: "client issuer's share of the JWT replay cache is full: answering 503 with Retry-After",
};

/**
 * @param log - where to warn; `undefined` logs nothing
 * @param intervalMs - least time between two lines for one (code, issuer)
 * @param now - clock in epoch milliseconds
 */
export function createLimitLog(log: WarnLogger | undefined, intervalMs: number, now: () => number): LimitLog {
  // Keyed by (code, issuer): bounded by twice the number of trusted issuers.
  const lastLine = new Map<string, { at: number; refusedSince: number }>();
  return (code, iss, retryAfterSeconds) => {
    if (log === undefined) return;
    const key = `${code} ${iss}`;
    const at = now();
    const last = lastLine.get(key);
    if (last !== undefined && at - last.at < intervalMs) {
      last.refusedSince += 1;
      return;
    }
    log.warn({ code, clientIss: iss, retryAfterSeconds, refusedSinceLastLine: last?.refusedSince ?? 0, intervalMs }, MESSAGES[code]);
    lastLine.set(key, { at, refusedSince: 0 });
  };
}
