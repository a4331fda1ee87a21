/**
 * Independent decoders for compressed DICOM, from Debian: dcmtk (dcmdjpeg, dcmdjpls, dcmdrle)
 * and GDCM (gdcmconv, for JPEG 2000, which dcmtk does not decode). Each turns a compressed
 * file into an uncompressed one; pydicom then reads that file's pixels (pydicom-reference.ts).
 * dcmtk's encoders (dcmcjpeg, dcmcjpls, dcmcrle) also make test files for syntaxes that no
 * shipped fixture uses. scripts/provision-test-deps.sh installs both packages; a missing tool
 * fails the test loudly.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Which tool decompresses a transfer syntax, or undefined for native syntaxes. */
export function referenceTool(transferSyntaxUid: string): readonly [string, ...string[]] | undefined {
  if (/^1\.2\.840\.10008\.1\.2\.4\.(50|51|57|70)$/.test(transferSyntaxUid)) return ['dcmdjpeg'];
  if (/^1\.2\.840\.10008\.1\.2\.4\.(80|81)$/.test(transferSyntaxUid)) return ['dcmdjpls'];
  if (transferSyntaxUid === '1.2.840.10008.1.2.5') return ['dcmdrle'];
  if (/^1\.2\.840\.10008\.1\.2\.4\.9[01]$/.test(transferSyntaxUid)) return ['gdcmconv', '--raw'];
  return undefined;
}

/** Runs a command; throws with its stderr on failure. */
export function run(command: string, args: readonly string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Decompresses `input` into `output` with the reference tool for its syntax.
 *
 * @returns the tool's name
 */
export function decompressWithReference(input: string, transferSyntaxUid: string, output: string): string {
  const tool = referenceTool(transferSyntaxUid);
  if (tool === undefined) throw new Error(`no reference decoder for ${transferSyntaxUid}`);
  const [command, ...options] = tool;
  run(command, [...options, input, output]);
  return command;
}

/** The Transfer Syntax UID of a Part 10 file, read from its meta header by hand (no dependency on the code under test). */
export function transferSyntaxOf(path: string): string | undefined {
  const bytes = readFileSync(path);
  if (bytes.byteLength < 144 || bytes.toString('latin1', 128, 132) !== 'DICM') return undefined;
  let offset = 132;
  while (offset + 8 <= bytes.byteLength && bytes.readUInt16LE(offset) === 0x0002) {
    const element = bytes.readUInt16LE(offset + 2);
    const vr = bytes.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OW', 'UN', 'SQ', 'UT', 'UC', 'UR'].includes(vr);
    const length = long ? bytes.readUInt32LE(offset + 8) : bytes.readUInt16LE(offset + 6);
    const start = offset + (long ? 12 : 8);
    if (element === 0x0010) return bytes.toString('latin1', start, start + length).replace(/[\0 ]+$/, '');
    offset = start + length;
  }
  return undefined;
}

/** Every regular file under a directory, recursively, sorted. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
}
