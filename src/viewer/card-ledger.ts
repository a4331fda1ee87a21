/**
 * The result cards the service sent, by card uuid: which model and version made each, which
 * DiagnosticReport it offers, its suggestion and override reasons. CDS Hooks feedback names only
 * the card; this is how the operations page counts results and feedback per model, and how the
 * viewer finds the card of the report it shows. Bounded; with a journal file (DATA_DIR/cards.jsonl)
 * it survives a restart: each new card is appended off the answer's path, in order (one line, no
 * fsync; a line that cannot be written, full disk or crash, is lost, never the answer: the card is
 * journalled again when it is first sent after a restart) and the newest `capacity` lines are read
 * back at start.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import type { CdsCard, CdsCoding, CdsResponse } from '../cds-hooks/index.js';

export interface LedgerCard {
  readonly cardUuid: string;
  readonly serviceId: string;
  readonly modelId: string;
  readonly modelVersion: string;
  readonly reportId: string;
  /** The suggestion that saves the preliminary results: what "Agree" accepts. */
  readonly suggestionUuid: string | undefined;
  readonly overrideReasons: readonly CdsCoding[];
  /** When the service first sent the card (ISO instant). */
  readonly firstSent: string;
}

export interface CardLedger {
  /** Records the result cards of one answer (other cards are ignored). */
  observe(serviceId: string, response: CdsResponse, at: Date): void;
  byCard(cardUuid: string): LedgerCard | undefined;
  byReport(reportId: string): LedgerCard | undefined;
  all(): readonly LedgerCard[];
  /** Resolves once every journal line asked for so far is written (or given up). */
  idle(): Promise<void>;
}

/** A result card offers the Device (the model) and the DiagnosticReport it saves. */
function resultCard(serviceId: string, card: CdsCard, at: Date): LedgerCard | undefined {
  let model: { id: string; version: string } | undefined;
  let reportId: string | undefined;
  let suggestionUuid: string | undefined;
  for (const s of card.suggestions ?? []) {
    for (const a of s.actions ?? []) {
      const r = a.resource;
      if (r?.resourceType === 'Device' && r.modelNumber !== undefined && r.version?.[0]?.value !== undefined) model = { id: r.modelNumber, version: r.version[0].value };
      if (r?.resourceType === 'DiagnosticReport' && r.id !== undefined) [reportId, suggestionUuid] = [r.id, s.uuid];
    }
  }
  if (card.uuid === undefined || model === undefined || reportId === undefined) return undefined;
  return { cardUuid: card.uuid, serviceId, modelId: model.id, modelVersion: model.version, reportId, suggestionUuid, overrideReasons: (card.overrideReasons ?? []).flatMap((r) => (r.system === undefined || r.code === undefined ? [] : [{ system: r.system, code: r.code, ...(r.display === undefined ? {} : { display: r.display }) }])), firstSent: at.toISOString() };
}

/** The journal's entries, oldest first; a torn or foreign line is skipped. */
function readJournal(file: string): LedgerCard[] {
  if (!existsSync(file)) return [];
  const entries: LedgerCard[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as Partial<LedgerCard>;
      if (typeof e.cardUuid === 'string' && typeof e.modelId === 'string' && typeof e.reportId === 'string') entries.push(e as LedgerCard);
    } catch {
      // A line torn by a crash mid-write: the card is recorded again when it is next sent.
    }
  }
  return entries;
}

/**
 * @param capacity - most cards remembered (oldest forgotten first)
 * @param journal - a file that keeps the cards across restarts (compacted to `capacity` at start)
 */
export function createCardLedger(capacity: number, journal?: string): CardLedger {
  const cards = new LRUCache<string, LedgerCard>({ max: capacity });
  const reports = new LRUCache<string, string>({ max: capacity });
  if (journal !== undefined) {
    const entries = readJournal(journal);
    const kept = entries.slice(-capacity);
    for (const e of kept) {
      cards.set(e.cardUuid, e);
      reports.set(e.reportId, e.cardUuid);
    }
    if (kept.length < entries.length) {
      // Compacted through a new file and a rename: a crash leaves the old journal or the new one.
      writeFileSync(`${journal}.tmp`, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
      renameSync(`${journal}.tmp`, journal);
    }
  }
  let writing: Promise<void> = Promise.resolve();
  return {
    observe(serviceId, response, at) {
      for (const card of response.cards) {
        const entry = resultCard(serviceId, card, at);
        if (entry === undefined) continue;
        // A card sent again (a second hook, a stored answer) keeps its first time.
        const known = cards.get(entry.cardUuid);
        cards.set(entry.cardUuid, known ?? entry);
        reports.set(entry.reportId, entry.cardUuid);
        if (known === undefined && journal !== undefined) {
          const line = `${JSON.stringify(entry)}\n`;
          writing = writing.then(() => appendFile(journal, line)).catch(() => undefined);
        }
      }
    },
    byCard: (uuid) => cards.get(uuid),
    byReport(reportId) {
      const uuid = reports.get(reportId);
      return uuid === undefined ? undefined : cards.get(uuid);
    },
    all: () => [...cards.values()],
    idle: () => writing,
  };
}
