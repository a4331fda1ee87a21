/**
 * At most N requests in flight per origin: a small counting semaphore per origin, so one study
 * with hundreds of instances cannot open hundreds of connections to one PACS. Entries are
 * removed when idle, so the map holds only origins with work in flight.
 */

/** Runs tasks with a per-key concurrency cap. */
export interface OriginLimiter {
  /** Runs `task` once fewer than the cap are running for `origin`; FIFO among waiters. */
  run<T>(origin: string, task: () => Promise<T>): Promise<T>;
  /** Tasks running now for `origin` (for tests and metrics). */
  active(origin: string): number;
}

interface Slot {
  active: number;
  readonly waiters: (() => void)[];
}

/**
 * Creates a limiter.
 *
 * @param maxPerOrigin - most tasks running at once per origin (integer ≥ 1)
 * @throws RangeError for an invalid cap
 */
export function createOriginLimiter(maxPerOrigin: number): OriginLimiter {
  if (!Number.isInteger(maxPerOrigin) || maxPerOrigin < 1) throw new RangeError(`maxConcurrentPerOrigin must be an integer ≥ 1, not ${maxPerOrigin}.`);
  const slots = new Map<string, Slot>();
  return {
    async run(origin, task) {
      let slot = slots.get(origin);
      if (slot === undefined) {
        slot = { active: 0, waiters: [] };
        slots.set(origin, slot);
      }
      const waiters = slot.waiters;
      if (slot.active >= maxPerOrigin) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      } else {
        slot.active++;
      }
      try {
        return await task();
      } finally {
        // Hand the slot straight to the next waiter (active stays the same), else free it.
        const next = slot.waiters.shift();
        if (next !== undefined) next();
        else if (--slot.active === 0) slots.delete(origin);
      }
    },
    active: (origin) => slots.get(origin)?.active ?? 0,
  };
}
