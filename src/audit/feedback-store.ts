/**
 * Durable feedback store: an append-only JSON Lines file, fsynced per write, so feedback
 * survives a crash or restart. The CDS Hooks spec warns that clients resend feedback: each item
 * is keyed by a hash of its content and a duplicate is acknowledged but not stored twice.
 * One process owns the file; at scale this interface is implemented on the shared database.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface FeedbackRecord {
  readonly id: string;
  readonly serviceId: string;
  readonly receivedAt: string;
  /** The feedback item as the client sent it (card uuid, outcome, suggestions, reason). */
  readonly item: unknown;
  /** Issuer of the client JWT, when authenticated. */
  readonly clientIss: string | undefined;
}

export interface FeedbackStore {
  /** Stores items; returns how many were new. */
  add(serviceId: string, items: readonly unknown[], clientIss: string | undefined): Promise<number>;
  all(): readonly FeedbackRecord[];
  close(): Promise<void>;
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Opens (or creates) the store in `dir/feedback.jsonl`.
 *
 * @param dir - data directory
 */
export async function openFeedbackStore(dir: string): Promise<FeedbackStore> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'feedback.jsonl');
  const records: FeedbackRecord[] = [];
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        records.push(JSON.parse(line) as FeedbackRecord);
      } catch {
        // A torn last line from a crash mid-write: skip it, keep everything before it.
      }
    }
  }
  const seen = new Set(records.map((r) => r.id));
  const handle: FileHandle = await open(file, 'a');
  let queue: Promise<unknown> = Promise.resolve();
  return {
    async add(serviceId, items, clientIss) {
      // Serialise writes so concurrent requests never interleave lines.
      const run = queue.then(async () => {
        const fresh: FeedbackRecord[] = [];
        for (const item of items) {
          const id = createHash('sha256').update(serviceId).update('\u0000').update(stableStringify(item)).digest('hex');
          if (seen.has(id)) continue;
          seen.add(id);
          fresh.push({ id, serviceId, receivedAt: new Date().toISOString(), item, clientIss });
        }
        if (fresh.length > 0) {
          await handle.appendFile(fresh.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
          await handle.sync();
          records.push(...fresh);
        }
        return fresh.length;
      });
      queue = run.catch(() => undefined);
      return run;
    },
    all: () => records,
    close: () => handle.close(),
  };
}
