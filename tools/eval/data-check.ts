/**
 * Says which of the labelled data sets the evaluations and data-dependent tests read are
 * present, with a sha256 of each (a file's bytes; a folder's sorted relative paths and file
 * hashes), so two machines can tell whether they hold the same data.
 *
 *   npm run data:check            (data folder: $IMAGING_CDS_DATA, else shared/data, else ../shared/data)
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR_ENV, resolveDataDir } from './data-dir.js';

/** What the repository reads, relative to the data folder, and who reads it. */
const DATA_SETS: readonly { readonly path: string; readonly usedBy: string }[] = [
  { path: 'medmnist/pneumoniamnist.npz', usedBy: 'model cards (pneumonia-cxr-28 benchmark)' },
  { path: 'medmnist/breastmnist.npz', usedBy: 'model cards (breast-us-28)' },
  { path: 'medmnist/retinamnist.npz', usedBy: 'model cards (retina-dr-28)' },
  { path: 'kermany-cxr-224/test', usedBy: 'model cards (pneumonia-cxr-28, pneumonia-cxr-224)' },
  { path: 'drive/testing', usedBy: 'model cards (retina-vessels-drive), fundus hook test' },
  { path: 'drive/training', usedBy: 'retina-vessels-drive training' },
  { path: 'acdc', usedBy: 'cardiac MRI training and evaluation' },
  { path: 'nih-cxr-621', usedBy: 'adult chest radiograph evaluation' },
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

/** sha256 of a file, or of a folder as `relative path\0file sha256\n` lines in sorted order. */
function digest(p: string): { sha256: string; files: number; bytes: number } {
  const fileHash = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
  if (statSync(p).isFile()) return { sha256: fileHash(p), files: 1, bytes: statSync(p).size };
  const files = filesUnder(p);
  const all = createHash('sha256');
  let bytes = 0;
  for (const f of files) {
    all.update(`${path.relative(p, f)}\0${fileHash(f)}\n`);
    bytes += statSync(f).size;
  }
  return { sha256: all.digest('hex'), files: files.length, bytes };
}

function main(): number {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));
  const dataDir = resolveDataDir(root);
  process.stdout.write(`data folder: ${dataDir}${existsSync(dataDir) ? '' : ' (not found)'} (set ${DATA_DIR_ENV} to choose another)\n`);
  let missing = 0;
  for (const set of DATA_SETS) {
    const p = path.join(dataDir, set.path);
    if (!existsSync(p)) {
      missing++;
      process.stdout.write(`  missing  ${set.path}  (${set.usedBy})\n`);
      continue;
    }
    const d = digest(p);
    process.stdout.write(`  present  ${set.path}  ${d.files} file(s), ${(d.bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${d.sha256}  (${set.usedBy})\n`);
  }
  process.stdout.write(missing === 0 ? 'all data sets present\n' : `${missing} of ${DATA_SETS.length} data sets missing: the tests that need them are skipped\n`);
  return 0;
}

process.exitCode = main();
