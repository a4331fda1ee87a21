/**
 * Measures every chest classifier on the adult NIH ChestX-ray14 sample through the service's
 * inference engine and writes `models/<id>/external-nih-adult.json` for each (see `adult.ts`).
 *
 *   npm run eval:adult [-- --only pneumonia-cxr-224] [--data DIR] [--models DIR] [--out-dir DIR] [--resamples 2000] [--seed 12345] [--no-write]
 *
 * Data: `--data`, else `$IMAGING_CDS_DATA`, else `shared/data` inside the repository when it
 * exists, else `../shared/data` beside it. Exit status 2 when the sample is not found.
 */
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateAdults, formatAdult, isChestClassifier, readChestManifest } from './adult.js';
import { resolveDataDir } from './data-dir.js';
import { repoRoot, runCommand, UsageError } from './cli.js';
import { nihPath } from './nih.js';

/** The name of the result file in each model folder. */
export const ADULT_RESULT_FILE = 'external-nih-adult.json';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' }, data: { type: 'string' }, only: { type: 'string' }, 'out-dir': { type: 'string' },
      resamples: { type: 'string' }, seed: { type: 'string' }, 'no-write': { type: 'boolean' },
    },
  });
  const root = repoRoot(import.meta.url);
  const modelsDir = path.resolve(values.models ?? path.join(root, 'models'));
  const dataDir = values.data === undefined ? resolveDataDir(root) : path.resolve(values.data);
  if (!existsSync(nihPath(dataDir))) throw new UsageError(`data not found at ${nihPath(dataDir)}`);
  const resamples = Number(values.resamples ?? 2000);
  const seed = Number(values.seed ?? 12345);
  if (!Number.isInteger(resamples) || resamples < 1) throw new UsageError('--resamples must be a whole number ≥ 1');
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be a whole number');
  const chest: string[] = [];
  for (const id of readdirSync(modelsDir).sort()) {
    if (id.startsWith('_') || !existsSync(path.join(modelsDir, id, 'manifest.json'))) continue;
    if (isChestClassifier(await readChestManifest(modelsDir, id))) chest.push(id);
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = (only ?? []).filter((id) => !chest.includes(id));
  if (unknown.length > 0) throw new UsageError(`--only: ${unknown.join(', ')} is not a chest classifier in ${modelsDir} (${chest.join(', ')})`);
  const modelIds = only ?? chest;
  const args = process.argv.slice(2).filter((a) => a !== '--no-write');
  const results = await evaluateAdults({ modelsDir, dataDir, modelIds, bootstrap: { resamples, seed }, command: ['npm run eval:adult', ...(args.length > 0 ? ['--', ...args] : [])].join(' ') });
  process.stdout.write(`${formatAdult(results)}\n`);
  if (values['no-write'] !== true) {
    const outDir = values['out-dir'] === undefined ? undefined : path.resolve(values['out-dir']);
    for (const r of results) {
      const file = outDir === undefined ? path.join(modelsDir, r.model, ADULT_RESULT_FILE) : path.join(outDir, `${r.model}-${ADULT_RESULT_FILE}`);
      await writeFile(file, `${JSON.stringify(r, null, 1)}\n`);
      process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    }
  }
  return 0;
}

runCommand('evaluate-adult', main);
