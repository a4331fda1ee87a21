/**
 * The result cards the service sent, by card uuid: which model and version made each, which
 * DiagnosticReport it offers, its suggestion and override reasons. CDS Hooks feedback names only
 * the card; this is how the operations page counts results and feedback per model, and how the
 * viewer finds the card of the report it shows. Bounded and in memory: after a restart, feedback
 * on cards sent before it counts under "card not seen since start".
 */
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

/**
 * @param capacity - most cards remembered (oldest forgotten first)
 */
export function createCardLedger(capacity: number): CardLedger {
  const cards = new LRUCache<string, LedgerCard>({ max: capacity });
  const reports = new LRUCache<string, string>({ max: capacity });
  return {
    observe(serviceId, response, at) {
      for (const card of response.cards) {
        const entry = resultCard(serviceId, card, at);
        if (entry === undefined) continue;
        // A card sent again (a second hook, a stored answer) keeps its first time.
        const known = cards.get(entry.cardUuid);
        cards.set(entry.cardUuid, known ?? entry);
        reports.set(entry.reportId, entry.cardUuid);
      }
    },
    byCard: (uuid) => cards.get(uuid),
    byReport(reportId) {
      const uuid = reports.get(reportId);
      return uuid === undefined ? undefined : cards.get(uuid);
    },
    all: () => [...cards.values()],
  };
}
