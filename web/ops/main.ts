/**
 * The operations page: models, queue, hook latency, results and feedback per model (with small
 * plots per day), recent failures. Redrawn from /ops/api/summary every 15 seconds.
 */
import type { ModelFeedback, OpsSummary, Percentiles } from '../../src/viewer/api-types.js';
import { h, problemOf, svg } from '../shared/dom.js';

const main = document.getElementById('main') as HTMLElement;
const seconds = (v: number | undefined): string => (v === undefined ? '–' : v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(2)} s`);
const rate = (n: number, of: number): string => (of === 0 ? '–' : `${Math.round((100 * n) / of)}%`);

function table(caption: string, head: readonly string[], rows: readonly (readonly (string | number)[])[], testId: string): HTMLElement {
  return h('table', { 'data-testid': testId },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...(rows.length === 0 ? [h('tr', {}, h('td', { colspan: String(head.length) }, 'None yet.'))] : rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, String(c))))))));
}

const pct = (p: Percentiles): string[] => [seconds(p.p50), seconds(p.p90), seconds(p.p99)];

/** Bars per day: results sent (grey), accepted (green), overridden (orange). */
function plot(m: ModelFeedback): SVGElement {
  const width = 240;
  const height = 64;
  const max = Math.max(1, ...m.days.flatMap((d) => [d.results, d.accepted, d.overridden]));
  const slot = width / Math.max(1, m.days.length);
  const bar = Math.max(1, slot / 3 - 1);
  const bars = m.days.flatMap((d, i) =>
    (['results', 'accepted', 'overridden'] as const).map((k, j) => {
      const v = d[k];
      const y = height - (height - 4) * (v / max);
      return svg('rect', { x: i * slot + j * (bar + 1), y, width: bar, height: height - y, class: `bar-${k}`, fill: k === 'results' ? '#4d4d4d' : k === 'accepted' ? '#1a6b2a' : '#9c3d00' }, svg('title', {}, `${d.day}: ${v} ${k}`));
    }));
  const label = `${m.model}: per day, results sent, accepted and overridden (${m.days.map((d) => `${d.day} ${d.results}/${d.accepted}/${d.overridden}`).join(', ')})`;
  return svg('svg', { class: 'plot', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label }, svg('rect', { x: 0, y: 0, width, height, fill: 'none', stroke: '#767676' }), ...bars);
}

function feedbackSection(models: readonly ModelFeedback[]): HTMLElement {
  const rows = models.map((m) => h('tr', { 'data-model': m.model },
    h('th', { scope: 'row' }, m.model),
    h('td', {}, String(m.results)),
    h('td', { 'data-testid': 'accepted' }, `${m.accepted} (${rate(m.accepted, m.accepted + m.overridden)})`),
    h('td', { 'data-testid': 'overridden' }, `${m.overridden} (${rate(m.overridden, m.accepted + m.overridden)})`),
    h('td', { 'data-testid': 'reasons' }, m.topReasons.map((r) => `${r.reason} (${r.count})`).join('; ') || '–'),
    h('td', {}, plot(m))));
  return h('section', { 'aria-labelledby': 'feedback-title' },
    h('h2', { id: 'feedback-title' }, 'Results and feedback per model'),
    h('p', { class: 'legend' }, 'Plots: per day, ', h('span', { class: 'swatch-results' }, '■ results sent'), ', ', h('span', { class: 'swatch-accepted' }, '■ accepted'), ', ', h('span', { class: 'swatch-overridden' }, '■ overridden'), '. Rates are of the feedback received.'),
    h('table', { 'data-testid': 'feedback' },
      h('caption', {}, 'Acceptance and override'),
      h('thead', {}, h('tr', {}, ...['Model', 'Results', 'Accepted', 'Overridden', 'Top override reasons', 'Per day'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...(rows.length === 0 ? [h('tr', {}, h('td', { colspan: '6' }, 'None yet.'))] : rows))));
}

function render(s: OpsSummary): void {
  main.replaceChildren(
    h('p', {}, `Service ${s.ready ? 'ready' : 'NOT ready'}; updated ${s.generatedAt}.`),
    h('h2', {}, 'Models'),
    table('Models and their status', ['Model', 'Version', 'Status', 'Detail'], s.models.map((m) => [m.id, m.version ?? '–', m.status, m.reason ?? '']), 'models'),
    h('h2', {}, 'Analysis queue'),
    table('Queue depth and job latency (p50 / p90 / p99)', ['Depth', 'Wait p50', 'Wait p90', 'Wait p99', 'Run p50', 'Run p90', 'Run p99', 'Failed runs'], [[s.queue.depth, ...pct(s.queue.wait), ...pct(s.queue.run), s.queue.failedRuns]], 'queue'),
    h('h2', {}, 'Hooks'),
    table('Hook latency', ['Service', 'Calls', 'p50', 'p90', 'p99'], s.hooks.map((x) => [x.service, x.count, ...pct(x.latency)]), 'hooks'),
    feedbackSection(s.feedback),
    h('h2', {}, 'Recent failures'),
    table('Failed requests, newest first', ['Time', 'Route', 'Status', 'Code'], s.failures.map((f) => [f.at, f.route, f.status, f.code]), 'failures'),
  );
  main.dataset['ready'] = 'true';
}

async function refresh(): Promise<void> {
  const res = await fetch('api/summary');
  if (!res.ok) throw new Error(await problemOf(res));
  render((await res.json()) as OpsSummary);
}

const fail = (err: unknown): void => { main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Cannot load the summary: ${err instanceof Error ? err.message : String(err)}`)); };
refresh().catch(fail);
setInterval(() => { refresh().catch(fail); }, 15_000);
