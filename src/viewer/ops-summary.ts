/**
 * The operations page's numbers: models and their status, queue depth and job latency, hook
 * latency percentiles (from the Prometheus histograms this process keeps), results and feedback
 * per model over time, recent failures. Counts and rates only: no patient identifier, no card
 * text, no free-text comment reaches the page.
 */
import type { FeedbackStore } from '../audit/index.js';
import type { ModelFeedback, OpsSummary, Percentiles } from './api-types.js';
import type { CardLedger } from './card-ledger.js';
import type { FailureLog } from './failures.js';

/** A metric as prom-client's `getMetricsAsJSON` gives it. */
export interface MetricJson {
  readonly name: string;
  readonly values: readonly { readonly value: number; readonly labels: Readonly<Record<string, string | number | undefined>>; readonly metricName?: string }[];
}

export interface OpsSources {
  readonly readiness: () => { readonly ready: boolean; readonly models: readonly { readonly id: string; readonly status: string; readonly reason?: string }[] };
  readonly metrics: () => Promise<readonly MetricJson[]>;
  readonly feedback: FeedbackStore;
  readonly ledger: CardLedger;
  readonly failures: FailureLog;
  /** Loaded models' versions by id (undefined on a front whose workers run the models). */
  readonly versions: ReadonlyMap<string, string>;
}

const UNKNOWN_CARD = 'card not seen since start';
const DAYS_SHOWN = 30;

/**
 * Quantile from cumulative buckets, as Prometheus' histogram_quantile: linear within the bucket
 * the rank falls in; the highest finite bound when it falls in +Inf.
 */
export function quantile(q: number, buckets: readonly { readonly le: number; readonly count: number }[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return previous.le;
      const inBucket = b.count - previous.count;
      return inBucket === 0 ? b.le : previous.le + ((b.le - previous.le) * (rank - previous.count)) / inBucket;
    }
    previous = b;
  }
  return previous.le;
}

/** Percentiles of one histogram, summed over the series whose labels match `filter`. */
function percentiles(metric: MetricJson | undefined, filter: (labels: MetricJson['values'][number]['labels']) => boolean): Percentiles {
  const byLe = new Map<number, number>();
  for (const v of metric?.values ?? []) {
    if (!(v.metricName ?? '').endsWith('_bucket') || !filter(v.labels)) continue;
    const le = v.labels['le'] === '+Inf' ? Infinity : Number(v.labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + v.value);
  }
  const buckets = [...byLe].map(([le, count]) => ({ le, count }));
  return { p50: quantile(0.5, buckets), p90: quantile(0.9, buckets), p99: quantile(0.99, buckets) };
}

function countOf(metric: MetricJson | undefined, filter: (labels: MetricJson['values'][number]['labels']) => boolean): number {
  return (metric?.values ?? []).filter((v) => (v.metricName ?? '').endsWith('_count') && filter(v.labels)).reduce((n, v) => n + v.value, 0);
}

interface FeedbackLike {
  readonly card?: unknown;
  readonly outcome?: unknown;
  readonly overrideReason?: { readonly reason?: { readonly code?: unknown; readonly display?: unknown } };
}

type Tally = { results: number; accepted: number; overridden: number; reasons: Map<string, number>; days: Map<string, { results: number; accepted: number; overridden: number }> };

function perModel(feedback: FeedbackStore, ledger: CardLedger): ModelFeedback[] {
  const tallies = new Map<string, Tally>();
  const tally = (model: string): Tally => {
    let t = tallies.get(model);
    if (t === undefined) tallies.set(model, (t = { results: 0, accepted: 0, overridden: 0, reasons: new Map(), days: new Map() }));
    return t;
  };
  const dayOf = (t: Tally, iso: string): { results: number; accepted: number; overridden: number } => {
    const day = iso.slice(0, 10);
    let d = t.days.get(day);
    if (d === undefined) t.days.set(day, (d = { results: 0, accepted: 0, overridden: 0 }));
    return d;
  };
  for (const card of ledger.all()) {
    const t = tally(`${card.modelId} ${card.modelVersion}`);
    t.results += 1;
    dayOf(t, card.firstSent).results += 1;
  }
  for (const record of feedback.all()) {
    const item = (record.item ?? {}) as FeedbackLike;
    if (item.outcome !== 'accepted' && item.outcome !== 'overridden') continue;
    const card = typeof item.card === 'string' ? ledger.byCard(item.card) : undefined;
    const t = tally(card === undefined ? UNKNOWN_CARD : `${card.modelId} ${card.modelVersion}`);
    t[item.outcome] += 1;
    dayOf(t, record.receivedAt)[item.outcome] += 1;
    if (item.outcome === 'overridden') {
      const r = item.overrideReason?.reason;
      const reason = typeof r?.display === 'string' ? r.display : typeof r?.code === 'string' ? r.code : 'no reason given';
      t.reasons.set(reason, (t.reasons.get(reason) ?? 0) + 1);
    }
  }
  return [...tallies].sort(([a], [b]) => a.localeCompare(b)).map(([model, t]) => ({
    model,
    results: t.results,
    accepted: t.accepted,
    overridden: t.overridden,
    topReasons: [...t.reasons].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([reason, count]) => ({ reason, count })),
    days: [...t.days].sort(([a], [b]) => a.localeCompare(b)).slice(-DAYS_SHOWN).map(([day, d]) => ({ day, ...d })),
  }));
}

/**
 * @param sources - where the numbers come from
 * @param now - the summary's time
 */
export async function opsSummary(sources: OpsSources, now: Date): Promise<OpsSummary> {
  const metrics = new Map((await sources.metrics()).map((m) => [m.name, m]));
  const readiness = sources.readiness();
  const latency = metrics.get('cds_request_duration_seconds');
  const services = [...new Set((latency?.values ?? []).map((v) => String(v.labels['service'] ?? '')))].filter((s) => s !== '').sort();
  const run = metrics.get('analysis_job_run_seconds');
  return {
    generatedAt: now.toISOString(),
    ready: readiness.ready,
    models: readiness.models.map((m) => ({ id: m.id, status: m.status, version: sources.versions.get(m.id), reason: m.reason })),
    queue: {
      depth: metrics.get('analysis_queue_depth')?.values[0]?.value ?? 0,
      wait: percentiles(metrics.get('analysis_job_wait_seconds'), () => true),
      run: percentiles(run, () => true),
      failedRuns: countOf(run, (l) => l['outcome'] === 'failed'),
    },
    hooks: services.map((service) => ({ service, count: countOf(latency, (l) => l['service'] === service), latency: percentiles(latency, (l) => l['service'] === service) })),
    feedback: perModel(sources.feedback, sources.ledger),
    failures: sources.failures.recent(),
  };
}
