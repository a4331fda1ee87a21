/**
 * Measures each classifier's unfamiliar-image check through the service's inference engine and
 * writes `models/<id>/ood-metrics.json` (see `ood.ts`).
 *
 *   npm run eval:ood [-- --only breast-us-28] [--data DIR] [--models DIR] [--resamples 2000] [--seed 12345] [--no-write]
 *
 * Models: every folder with an `ood.json` and a plan in `OOD_PLAN`. Data: `--data`, else
 * `$IMAGING_CDS_DATA`, else `shared/data` inside the repository when it exists, else
 * `../shared/data` beside it. Exit status 2 when a data set it needs is not found.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveDataDir } from './data-dir.js';
import { repoRoot, runCommand, UsageError } from './cli.js';
import { OOD_PLAN, OOD_RESULT_FILE, OOD_SETS, evaluateOod, formatOod } from './ood.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { models: { type: 'string' }, data: { type: 'string' }, only: { type: 'string' }, resamples: { type: 'string' }, seed: { type: 'string' }, 'no-write': { type: 'boolean' } },
  });
  const root = repoRoot(import.meta.url);
  const modelsDir = path.resolve(values.models ?? path.join(root, 'models'));
  const dataDir = values.data === undefined ? resolveDataDir(root) : path.resolve(values.data);
  const known = Object.keys(OOD_PLAN).filter((id) => existsSync(path.join(modelsDir, id, 'ood.json')));
  const only = values.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = (only ?? []).filter((id) => !known.includes(id));
  if (unknown.length > 0) throw new UsageError(`--only: no model folder with an ood.json and a plan is named ${unknown.join(', ')}`);
  const ids = only ?? known;
  const needed = new Set(['kermany-cxr-224/test', 'medmnist/breastmnist.npz', 'medmnist/retinamnist.npz']);
  for (const id of ids) for (const { set } of OOD_PLAN[id] ?? []) needed.add(OOD_SETS[set]?.dataPath ?? set);
  const missing = [...needed].map((p) => path.join(dataDir, p)).filter((p) => !existsSync(p));
  if (missing.length > 0) throw new UsageError(`data not found at ${missing.join(', ')}`);
  const resamples = values.resamples === undefined ? 2000 : Number(values.resamples);
  const seed = values.seed === undefined ? 12345 : Number(values.seed);
  if (!Number.isInteger(resamples) || resamples < 1) throw new UsageError('--resamples must be a whole number ≥ 1');
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be a whole number');
  const command = `npm run eval:ood${only === undefined ? '' : ` -- --only ${only.join(',')}`}`;
  const results = await evaluateOod({ modelsDir, dataDir, modelIds: ids, resamples, seed, command });
  process.stdout.write(`${formatOod(results)}\n`);
  if (values['no-write'] !== true) {
    for (const r of results) {
      const file = path.join(modelsDir, r.model, OOD_RESULT_FILE);
      await writeFile(file, `${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`wrote ${path.relative(root, file)}\n`);
    }
  }
  return 0;
}

runCommand('evaluate-ood', main);
