/**
 * The jobs of one round as the workers logged them. Jobs are taken from the queue in the order
 * they were added (BullMQ's waiting list is FIFO), and the bench adds every trigger job before
 * any hook can add one, so the first N distinct keys to start are the N trigger jobs, in trigger
 * order up to the few jobs the workers take at the same moment.
 */
import type { JobEvent } from './service-processes.js';

export class JobLog {
  private readonly order: string[] = [];
  private readonly ends = new Map<string, { readonly outcome: 'done' | 'failed'; readonly at: number }>();

  record(event: JobEvent): void {
    if (event.kind === 'started') {
      if (!this.order.includes(event.key)) this.order.push(event.key);
    } else {
      this.ends.set(event.key, { outcome: event.kind, at: event.at });
    }
  }

  /** Keys in the order their first run started. */
  started(): readonly string[] {
    return this.order;
  }

  /** When the first `n` jobs to start have all ended: the last end; otherwise undefined. */
  firstEnded(n: number): number | undefined {
    if (this.order.length < n) return undefined;
    let last = -Infinity;
    for (const key of this.order.slice(0, n)) {
      const end = this.ends.get(key);
      if (end === undefined) return undefined;
      last = Math.max(last, end.at);
    }
    return last;
  }

  /** Ended jobs by outcome, among `keys` (default: all). */
  count(outcome: 'done' | 'failed', keys: readonly string[] = [...this.ends.keys()]): number {
    return keys.filter((k) => this.ends.get(k)?.outcome === outcome).length;
  }
}
