/**
 * Checks the model cards against the TypeScript pipeline: for every model folder whose
 * manifest.json has an `evaluation` list, it reads each listed test set from the data folder,
 * feeds every image through createInferenceEngine → run as the service would, recomputes the
 * section's metrics at the manifest's threshold, and compares them with the manifest.
 *
 *   npm run build && node dist/tools/eval/evaluate.js [--models DIR] [--data DIR] [--tolerance 0.002] [--only id,id]
 *
 * Defaults: `models/` of the repository; data from `--data`, else `$IMAGING_CDS_DATA`, else
 * `shared/data` inside the repository when it exists, else `../shared/data` beside it.
 *
 * Exit status: 0 when every section agrees within the tolerance, 1 when any disagrees or cannot
 * be evaluated, 2 when the data (or a test set in it) is not found or the arguments are wrong.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TOLERANCE, evaluateModelCards } from './card-check.js';
import { missingData, resolveDataDir } from './data-dir.js';
import { repoRoot, runCommand, UsageError } from './cli.js';
import { discoverEvaluations } from './plan.js';
import { formatChecks } from './report.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { models: { type: 'string' }, data: { type: 'string' }, tolerance: { type: 'string' }, only: { type: 'string' } },
  });
  const root = repoRoot(import.meta.url);
  const tolerance = values.tolerance === undefined ? DEFAULT_TOLERANCE : Number(values.tolerance);
  if (!(tolerance >= 0)) throw new UsageError(`--tolerance must be a number ≥ 0, not ${values.tolerance}`);
  const modelsDir = path.resolve(values.models ?? path.join(root, 'models'));
  const dataDir = values.data === undefined ? resolveDataDir(root) : path.resolve(values.data);
  const only = values.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const discovered = discoverEvaluations(modelsDir);
  const known = new Set([...discovered.targets, ...discovered.problems].map((t) => t.modelId));
  const unknown = (only ?? []).filter((id) => !known.has(id));
  if (unknown.length > 0) throw new UsageError(`--only: no model folder with an evaluation list is named ${unknown.join(', ')}`);
  const targets = discovered.targets.filter((t) => only === undefined || only.includes(t.modelId));
  const missing = missingData(targets, dataDir);
  if (missing.length > 0) throw new UsageError(`data not found at ${missing.join(', ')}`);
  const checks = await evaluateModelCards({ modelsDir, dataDir, tolerance, only, discovered });
  process.stdout.write(`${formatChecks(checks, tolerance)}\n`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

runCommand('evaluate', main);
