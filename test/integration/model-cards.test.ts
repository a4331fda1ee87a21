/**
 * Every model card section that a manifest's `evaluation` list declares, recomputed through the
 * TypeScript pipeline (createInferenceEngine → run, as the service runs a model) from the real
 * test data, must agree with the manifest within 0.002.
 *
 * Data: `$IMAGING_CDS_DATA`, else shared/data inside the repository, else ../shared/data beside it.
 * When that folder, or a test set a manifest names, is missing, the suite prints one line
 * `skipped: model-card check: data not found at <path>; …` and its tests are reported as skipped.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { METRIC_KEYS, discoverEvaluations, evaluateModelCards, formatChecks, missingData, resolveDataDir, resolveTestSet } from '../../tools/eval/index.js';
import type { CardCheck } from '../../tools/eval/index.js';

const TOLERANCE = 0.002;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const modelsDir = path.join(root, 'models');
const dataDir = resolveDataDir(root);
const discovered = discoverEvaluations(modelsDir);
const missing = missingData(discovered.targets, dataDir);
if (missing.length > 0) process.stdout.write(`skipped: model-card check: data not found at ${missing.join(', ')}; set IMAGING_CDS_DATA to the data folder (npm run data:check)\n`);
const describeWithData = missing.length === 0 ? describe : describe.skip;

describeWithData('model cards agree with the TypeScript inference pipeline on the test splits', () => {
  let checks: CardCheck[] = [];

  beforeAll(async () => {
    checks = await evaluateModelCards({ modelsDir, dataDir, tolerance: TOLERANCE, discovered });
    process.stdout.write(`${formatChecks(checks, TOLERANCE)}\n`);
  }, 600_000);

  it('finds model folders with a valid evaluation list', () => {
    expect(discovered.problems).toEqual([]);
    expect(discovered.targets.length).toBeGreaterThan(0);
  });

  it('evaluates every declared model card section', () => {
    expect(checks.map((c) => `${c.modelId} ${c.section}`).sort()).toEqual(discovered.targets.map((t) => `${t.modelId} ${t.section}`).sort());
    for (const c of checks) expect([c.modelId, c.section, c.error]).toEqual([c.modelId, c.section, undefined]);
  });

  const cases = discovered.targets.map((t) => [t.modelId, t.section, resolveTestSet(t.testSet, dataDir).task] as const);
  // An empty table is a jest error of its own; the first test already fails when nothing is declared.
  if (cases.length > 0) it.each(cases)(`%s %s: every stated %s metric within ${TOLERANCE}`, (id, section, task) => {
    const c = checks.find((x) => x.modelId === id && x.section === section);
    expect(c).toBeDefined();
    for (const m of c?.checks ?? []) {
      expect([m.key, typeof m.stated]).toEqual([m.key, 'number']);
      expect([m.key, Math.abs((m.stated ?? Number.NaN) - m.computed) <= TOLERANCE]).toEqual([m.key, true]);
    }
    expect(c?.checks.map((m) => m.key)).toEqual([...METRIC_KEYS[task]]);
    expect(c?.ok).toBe(true);
  });
});
