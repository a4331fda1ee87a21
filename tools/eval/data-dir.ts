/**
 * Where the labelled test data is, and whether what the evaluation targets need is there.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { EvaluationTarget } from './plan.js';
import { resolveTestSet } from './test-sets.js';

/** Environment variable that overrides the data folder (the CLI's `--data` overrides both). */
export const DATA_DIR_ENV = 'IMAGING_CDS_DATA';

/**
 * The default data folder: `shared/data` inside the repository when it exists, else
 * `../shared/data` beside the repository.
 *
 * @param root - the repository root
 */
export function defaultDataDir(root: string): string {
  const inside = path.join(root, 'shared', 'data');
  return existsSync(inside) ? inside : path.join(root, '..', 'shared', 'data');
}

/**
 * The data folder to use: `$IMAGING_CDS_DATA` when set (relative to the working directory), else
 * {@link defaultDataDir}.
 *
 * @param root - the repository root
 * @param env - the environment, `process.env` by default
 */
export function resolveDataDir(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[DATA_DIR_ENV];
  return fromEnv !== undefined && fromEnv !== '' ? path.resolve(fromEnv) : defaultDataDir(root);
}

/**
 * The paths the targets need that do not exist: just the data folder when it is missing
 * altogether, else each missing file or folder once, in target order.
 *
 * @returns an empty list when everything is there
 */
export function missingData(targets: readonly EvaluationTarget[], dataDir: string): string[] {
  if (!existsSync(dataDir)) return [dataDir];
  const needed = new Set(targets.map((t) => resolveTestSet(t.testSet, dataDir).dataPath));
  return [...needed].filter((p) => !existsSync(p));
}
