/**
 * Transfer syntaxes and coding options that no shipped fixture uses (JPEG lossless with each
 * predictor 1–7, colour lossless JPEG, JPEG-LS near-lossless on signed CT, 12-bit JPEG
 * Extended, JPEG 2000 on signed CT, …), made from real uncompressed files by dcmtk's and GDCM's
 * encoders at test time. Lossless encodings must give back exactly the original pixels (as
 * pydicom reads the uncompressed original: ground truth, not another decoder). Lossy encodings
 * must agree with dcmtk's or GDCM's decoder within 1 stored unit; JPEG-LS near-lossless must in
 * addition stay within its NEAR bound of the original, which T.87 guarantees.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeStoredFrame } from '../../../src/dicom/pixels.js';
import { pydicomFile } from './support/fixtures.js';
import { pydicomPixels } from './support/pydicom-reference.js';
import { decompressWithReference, run, transferSyntaxOf } from './support/reference-decoders.js';

const CT = pydicomFile('CT_small.dcm'); // signed 16-bit
const MR = pydicomFile('MR_small.dcm'); // signed 16-bit, 64 × 64
const RGB = pydicomFile('ExplVR_BigEnd.dcm'); // 8-bit RGB, planar, big endian
const GREY8 = pydicomFile('image_dfl.dcm'); // 8-bit unsigned 512 × 512, deflated (dcmtk refuses near-lossless for signed data)

interface Encoding {
  readonly name: string;
  readonly source: string;
  readonly command: readonly [string, ...string[]];
  readonly syntax: string;
}

const LOSSLESS: readonly Encoding[] = [
  ...[1, 2, 3, 4, 5, 6, 7].map((sv): Encoding => ({ name: `JPEG lossless SV${sv}, signed CT`, source: CT, command: ['dcmcjpeg', '+el', '+sv', String(sv)], syntax: '1.2.840.10008.1.2.4.57' })),
  ...[1, 4, 7].map((sv): Encoding => ({ name: `JPEG lossless SV${sv}, RGB`, source: RGB, command: ['dcmcjpeg', '+el', '+sv', String(sv)], syntax: '1.2.840.10008.1.2.4.57' })),
  { name: 'JPEG lossless SV1 (.70), MR', source: MR, command: ['dcmcjpeg', '+e1'], syntax: '1.2.840.10008.1.2.4.70' },
  { name: 'JPEG-LS lossless, signed CT', source: CT, command: ['dcmcjpls', '+el'], syntax: '1.2.840.10008.1.2.4.80' },
  { name: 'JPEG-LS lossless, RGB', source: RGB, command: ['dcmcjpls', '+el'], syntax: '1.2.840.10008.1.2.4.80' },
  { name: 'RLE, signed CT', source: CT, command: ['dcmcrle'], syntax: '1.2.840.10008.1.2.5' },
  { name: 'RLE, RGB', source: RGB, command: ['dcmcrle'], syntax: '1.2.840.10008.1.2.5' },
  { name: 'JPEG 2000 lossless (GDCM), signed CT', source: CT, command: ['gdcmconv', '--j2k'], syntax: '1.2.840.10008.1.2.4.90' },
  { name: 'JPEG 2000 lossless (GDCM), RGB', source: RGB, command: ['gdcmconv', '--j2k'], syntax: '1.2.840.10008.1.2.4.90' },
];

const LOSSY: readonly Encoding[] = [
  { name: 'JPEG Extended 12-bit (dcmtk rescales CT to 12 bits)', source: CT, command: ['dcmcjpeg', '+ee'], syntax: '1.2.840.10008.1.2.4.51' },
  { name: 'JPEG Extended 12-bit, MR', source: MR, command: ['dcmcjpeg', '+ee'], syntax: '1.2.840.10008.1.2.4.51' },
  { name: 'JPEG Baseline 8-bit, RGB', source: RGB, command: ['dcmcjpeg', '+eb'], syntax: '1.2.840.10008.1.2.4.50' },
  { name: 'JPEG-LS near-lossless NEAR 2, 8-bit', source: GREY8, command: ['dcmcjpls', '+en', '+md', '2'], syntax: '1.2.840.10008.1.2.4.81' },
  { name: 'JPEG 2000 lossy (GDCM), signed CT', source: CT, command: ['gdcmconv', '--j2k', '--lossy', '-q', '30'], syntax: '1.2.840.10008.1.2.4.91' },
];

function stored(path: string): Float64Array {
  const parsed = parseDicom(readFileSync(path));
  const frames = Array.from({ length: parsed.pixels.numberOfFrames }, (_, i) => decodeStoredFrame(parsed, i));
  return Float64Array.from(frames.flatMap((f) => Array.from(f)));
}

/** Largest absolute difference (no Math calls: they are slow inside jest's vm context). */
function maxDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d > max) max = d;
    else if (-d > max) max = -d;
  }
  return max;
}

describe('syntaxes made by dcmtk and GDCM from real uncompressed files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dicom-enc-'));
  const encoded = new Map<string, string>();
  const originals = new Map<string, Float64Array>();
  const references = new Map<string, Float64Array>();

  beforeAll(() => {
    [...LOSSLESS, ...LOSSY].forEach((e, i) => {
      const out = join(dir, `${i}.dcm`);
      const [command, ...options] = e.command;
      run(command, [...options, e.source, out]);
      encoded.set(e.name, out);
    });
    const sources = [CT, MR, RGB, GREY8];
    pydicomPixels(sources, 'stored').forEach((ref, i) => originals.set(sources[i] as string, ref.values));
    const refPaths = LOSSY.map((e, i) => {
      const out = join(dir, `ref-${i}.dcm`);
      decompressWithReference(encoded.get(e.name) as string, e.syntax, out);
      return out;
    });
    pydicomPixels(refPaths, 'stored').forEach((ref, i) => references.set((LOSSY[i] as Encoding).name, ref.values));
  }, 120_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(LOSSLESS.map((e) => [e.name, e] as const))('%s: decodes to exactly the original pixels', (_name, e) => {
    const path = encoded.get(e.name) as string;
    expect(transferSyntaxOf(path)).toBe(e.syntax);
    expect(maxDifference(stored(path), originals.get(e.source) as Float64Array)).toBe(0);
  });

  it.each(LOSSY.map((e) => [e.name, e] as const))('%s: agrees with the reference decoder within 1', (_name, e) => {
    const path = encoded.get(e.name) as string;
    expect(transferSyntaxOf(path)).toBe(e.syntax);
    expect(maxDifference(stored(path), references.get(e.name) as Float64Array)).toBeLessThanOrEqual(1);
  });

  it('JPEG-LS near-lossless stays within NEAR = 2 of the original, as T.87 guarantees', () => {
    const path = encoded.get('JPEG-LS near-lossless NEAR 2, 8-bit') as string;
    const difference = maxDifference(stored(path), originals.get(GREY8) as Float64Array);
    expect(difference).toBeGreaterThan(0);
    expect(difference).toBeLessThanOrEqual(2);
  });
});
