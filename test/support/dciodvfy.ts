/**
 * Independent checks of DICOM objects this service writes: dicom3tools' `dciodvfy` (IOD,
 * module, attribute and template rules) and dcmtk's `dsrdump` (reads an SR's content tree).
 * When a binary is missing, `missingBinaries()` names it and the suites that need it skip
 * loudly with one line (scripts/provision-test-deps.sh installs both).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function findBinary(name: string): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The names among `dciodvfy` and `dsrdump` that are not installed. */
export function missingBinaries(): string[] {
  return ['dciodvfy', 'dsrdump'].filter((b) => findBinary(b) === undefined);
}

/** What dciodvfy said, line by line, split by severity. */
export interface DciodvfyReport {
  readonly errors: string[];
  readonly warnings: string[];
  readonly output: string;
}

async function withFile<T>(bytes: Uint8Array, use: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'dcm-check-'));
  const path = join(dir, 'object.dcm');
  writeFileSync(path, bytes);
  try {
    return await use(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `dciodvfy -new` on a Part 10 file (it exits non-zero on errors: the lines tell). */
export async function dciodvfy(bytes: Uint8Array): Promise<DciodvfyReport> {
  const binary = findBinary('dciodvfy');
  if (binary === undefined) throw new Error('dciodvfy is not installed (Debian package dicom3tools).');
  return withFile(bytes, async (path) => {
    let output: string;
    try {
      const { stdout, stderr } = await run(binary, ['-new', path], { maxBuffer: 16 * 1024 * 1024 });
      output = `${stdout}${stderr}`;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return { errors: lines.filter((l) => l.startsWith('Error')), warnings: lines.filter((l) => l.startsWith('Warning')), output };
  });
}

/** `dsrdump` of an SR (code values shown, long texts in full): the content tree as text. Throws when dcmtk cannot read it. */
export async function dsrdump(bytes: Uint8Array): Promise<string> {
  const binary = findBinary('dsrdump');
  if (binary === undefined) throw new Error('dsrdump is not installed (Debian package dcmtk).');
  return withFile(bytes, async (path) => {
    const { stdout, stderr } = await run(binary, ['+Pc', '+Pu', '+Psu', '+Pl', path], { maxBuffer: 16 * 1024 * 1024 });
    if (/^E: /m.test(stderr)) throw new Error(`dsrdump: ${stderr}`);
    return stdout;
  });
}
