/**
 * Runs write-backs in the background, so a slow or failing FHIR server never delays or fails a
 * CDS answer: {@link WriteBackQueue.submit} returns at once, the outcome is only logged.
 *
 * - One write per result key at a time; a key written successfully is not written again while
 *   remembered (bounded), so repeated hooks on a cached result cost nothing. A failed key is
 *   forgotten, so the next hook on that study tries again (safe: the Bundle's creates are
 *   conditional).
 * - At most `maxInFlight` writes run at once; beyond that a write is skipped and logged rather
 *   than queued without bound.
 * - Log lines carry the result key (a UUIDv5, not a patient identifier), counts and the error code, never the
 *   token, the Bundle, or patient references.
 */
import type { Bundle } from 'fhir/r4.js';
import { isAppError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { FhirWriter } from './write-back.js';

/** Background write-back. */
export interface WriteBackQueue {
  /**
   * Schedules a write and returns at once.
   *
   * @param key - identifies the result (e.g. the DiagnosticReport's deterministic id); not a patient id
   * @param bundle - the transaction Bundle
   * @param log - the caller's logger (request context)
   */
  submit(key: string, bundle: Bundle, log: Logger): void;
  /** Resolves when every write submitted so far has finished (tests, graceful shutdown). */
  idle(): Promise<void>;
}

/** Options of {@link createWriteBackQueue}. */
export interface WriteBackQueueOptions {
  readonly writer: FhirWriter;
  readonly maxInFlight?: number | undefined;
  /** How many successfully written keys are remembered (default 10 000). */
  readonly rememberWritten?: number | undefined;
}

/**
 * Creates the queue.
 *
 * @param options - the writer and bounds
 */
export function createWriteBackQueue(options: WriteBackQueueOptions): WriteBackQueue {
  const maxInFlight = options.maxInFlight ?? 16;
  const remember = options.rememberWritten ?? 10_000;
  const inFlight = new Map<string, Promise<void>>();
  const written = new Set<string>();

  async function run(key: string, bundle: Bundle, log: Logger): Promise<void> {
    const started = Date.now();
    try {
      const outcome = await options.writer.transaction(bundle);
      written.add(key);
      if (written.size > remember) written.delete(written.values().next().value as string);
      const created = outcome.entries.filter((e) => e.status.startsWith('201')).length;
      log.info({ writeBack: { key, entries: outcome.entries.length, created, matched: outcome.entries.length - created, attempts: outcome.attempts, ms: Date.now() - started } }, 'write-back done');
    } catch (err) {
      // Logged, never thrown: the CDS answer has long been sent. The next hook on the study retries.
      log.warn({ writeBack: { key, ms: Date.now() - started }, code: isAppError(err) ? err.code : 'INTERNAL', reason: err instanceof Error ? err.message : String(err) }, 'write-back failed');
    } finally {
      inFlight.delete(key);
    }
  }

  return {
    submit(key, bundle, log) {
      if (written.has(key) || inFlight.has(key)) return;
      if (inFlight.size >= maxInFlight) {
        log.warn({ writeBack: { key, inFlight: inFlight.size } }, 'write-back skipped: too many in flight');
        return;
      }
      inFlight.set(key, run(key, bundle, log));
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight.values()]);
    },
  };
}
