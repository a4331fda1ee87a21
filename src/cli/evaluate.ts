/**
 * Checks the model cards against the TypeScript pipeline: for every model listed in
 * src/cli/eval-cards.ts it reads the test split from the shared data folder, feeds each image
 * through createInferenceEngine → run exactly as the service would, recomputes AUC, accuracy,
 * sensitivity and specificity at the manifest's threshold, and exits 1 when any differs from
 * the manifest's metrics by more than the tolerance.
 *
 *   npm run build && node dist/src/cli/evaluate.js [--models DIR] [--data DIR] [--tolerance 0.002] [--only id,id]
 *
 * Defaults: models/ and shared/data (inside the checkout, else beside it).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultDataDir, evaluateModelCards, formatChecks } from './eval-cards.js';

/** Repository root: this file is src/cli/evaluate.ts or dist/src/cli/evaluate.js. */
function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.basename(path.resolve(here, '..', '..')) === 'dist' ? 3 : 2;
  return path.resolve(here, ...Array<string>(up).fill('..'));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' },
      data: { type: 'string' },
      tolerance: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const root = repoRoot();
  const tolerance = values.tolerance === undefined ? 0.002 : Number(values.tolerance);
  if (!(tolerance >= 0)) throw new Error(`--tolerance must be a number ≥ 0, not ${values.tolerance}`);
  const checks = await evaluateModelCards({
    modelsDir: path.resolve(values.models ?? path.join(root, 'models')),
    dataDir: path.resolve(values.data ?? defaultDataDir(root)),
    tolerance,
    only: values.only?.split(',').map((s) => s.trim()),
  });
  process.stdout.write(`${formatChecks(checks, tolerance)}\n`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`evaluate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
