/**
 * Every shipped model card's test-split numbers, recomputed through the TypeScript pipeline
 * (createInferenceEngine → run, as the service runs a model) from the real test data in
 * ../shared/data, must agree with the model's manifest within 0.002.
 *
 * The data folder is part of the project's environment (shared/data/README.md); when it is
 * missing the suite fails rather than silently passing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVAL_SPECS, METRIC_KEYS, defaultDataDir, evaluateModelCards, formatChecks } from '../../src/cli/eval-cards.js';
import type { CardCheck } from '../../src/cli/eval-cards.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const modelsDir = path.join(root, 'models');
const dataDir = defaultDataDir(root);

describe('model cards agree with the TypeScript inference pipeline on the test splits', () => {
  let checks: CardCheck[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(dataDir, 'medmnist'))) throw new Error(`test data not found at ${dataDir}`);
    checks = await evaluateModelCards({ modelsDir, dataDir, tolerance: 0.002 });
    process.stdout.write(`${formatChecks(checks)}\n`);
  }, 600_000);

  it('evaluates every declared model card section', () => {
    expect(checks.map((c) => `${c.modelId} ${c.section}`).sort()).toEqual(EVAL_SPECS.map((s) => `${s.modelId} ${s.section}`).sort());
    for (const c of checks) expect(c.error).toBeUndefined();
  });

  it.each(EVAL_SPECS.map((s) => [s.modelId, s.section, s.task] as const))('%s %s: every stated %s metric within 0.002', (id, section, task) => {
    const c = checks.find((x) => x.modelId === id && x.section === section);
    expect(c).toBeDefined();
    for (const m of c?.checks ?? []) {
      expect([m.key, typeof m.stated]).toEqual([m.key, 'number']);
      expect([m.key, Math.abs((m.stated ?? Number.NaN) - m.computed) <= 0.002]).toEqual([m.key, true]);
    }
    expect(c?.checks.map((m) => m.key)).toEqual([...METRIC_KEYS[task]]);
    expect(c?.ok).toBe(true);
  });
});
