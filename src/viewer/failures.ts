/**
 * The most recent failed requests, for the operations page: when, which route (its template,
 * never the raw path or query, which can carry identifiers), the status and the stable error code.
 */

export interface FailureRecord {
  readonly at: string;
  readonly route: string;
  readonly status: number;
  readonly code: string;
}

export interface FailureLog {
  record(failure: FailureRecord): void;
  /** Newest first. */
  recent(): readonly FailureRecord[];
}

/**
 * @param capacity - how many failures are kept (oldest dropped first)
 */
export function createFailureLog(capacity: number): FailureLog {
  const ring: FailureRecord[] = [];
  return {
    record(failure) {
      ring.push(failure);
      if (ring.length > capacity) ring.shift();
    },
    recent: () => [...ring].reverse(),
  };
}
