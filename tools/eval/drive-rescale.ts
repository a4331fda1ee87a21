/**
 * A SYNTHETIC cross-device proxy for the vessel segmentation model (not another camera's data):
 * the 20 DRIVE test images are rescaled to other sizes and aspect ratios and run through the
 * service's engine twice — with the manifest's `resize: "fov-diameter"` and with the former
 * stretch to 565×584 (`resize: "area"`) — and scored against the first observer's masks taken
 * through the same geometric transform (≥ 0.5 after interpolation). The vessel share is scored
 * against the first observer's share on the original image (a physical share does not change
 * with the pixel count).
 *
 *   npm run build && node dist/tools/eval/drive-rescale.js [--data dir] [--out file.json] [--conditions a,b]
 *
 * Transforms: bicubic (Keys, a = −0.5, half-pixel centres, clamped edges) for enlarging, area
 * averaging for shrinking, results rounded to 8 bits as a camera file would be.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInferenceEngine } from '../../src/inference/index.js';
import type { InputImage } from '../../src/inference/index.js';
import { resizeArea } from '../../src/image/index.js';
import { resolveDataDir } from './data-dir.js';
import { readDrive } from './drive.js';
import { segmentationMetrics } from './segmentation-metrics.js';
import type { SegmentationCase } from './test-set-types.js';

const MODEL = 'retina-vessels-drive';

/** How one condition turns a DRIVE test image (565×584) into a synthetic one. */
interface Condition {
  readonly name: string;
  readonly label: string;
  /** Scale per axis applied to the image content, and the canvas it is centred on (black). */
  readonly scale: (w: number, h: number) => { sx: number; sy: number; canvasW?: number; canvasH?: number };
}

export const CONDITIONS: readonly Condition[] = [
  { name: 'original', label: 'DRIVE test images as they are (565×584)', scale: () => ({ sx: 1, sy: 1 }) },
  {
    name: 'canvas-999x960',
    label: 'SYNTHETIC: enlarged ×960/584 on both axes (bicubic, square pixels, FOV ≈ 880 px) and centred on a black 999×960 frame',
    scale: (_w, h) => ({ sx: 960 / h, sy: 960 / h, canvasW: 999, canvasH: 960 }),
  },
  {
    name: 'wide-1314x876',
    label: 'SYNTHETIC: enlarged ×1.5 on both axes (bicubic, square pixels, FOV ≈ 805 px) and centred on a black 3:2 frame of 1314×876, as wide-frame cameras record',
    scale: () => ({ sx: 1.5, sy: 1.5, canvasW: 1314, canvasH: 876 }),
  },
  { name: 'half', label: 'SYNTHETIC: shrunk to 0.5× (area averaging), 283×292', scale: () => ({ sx: 0.5, sy: 0.5 }) },
  {
    name: 'stretch-999x960',
    label: 'SYNTHETIC: stretched to 999×960 (bicubic, x ×1.77, y ×1.64: anisotropic, an elliptical FOV no camera makes)',
    scale: (w, h) => ({ sx: 999 / w, sy: 960 / h }),
  },
];

function cubic(t: number): number {
  const a = -0.5;
  const x = Math.abs(t);
  if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
  if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
  return 0;
}

/** One axis of a bicubic enlargement: out[o] from src samples along the axis. */
function bicubicAxis(src: Float32Array, srcLen: number, dstLen: number, lines: number, stride: number, step: number, lineStep: number, outStep: number, outLineStep: number, out: Float32Array): void {
  const scale = srcLen / dstLen;
  for (let o = 0; o < dstLen; o++) {
    const x = (o + 0.5) * scale - 0.5;
    const x0 = Math.floor(x);
    const w = [cubic(x - (x0 - 1)), cubic(x - x0), cubic(x - (x0 + 1)), cubic(x - (x0 + 2))];
    const idx = [x0 - 1, x0, x0 + 1, x0 + 2].map((i) => Math.min(Math.max(i, 0), srcLen - 1));
    for (let l = 0; l < lines; l++) {
      for (let s = 0; s < stride; s++) {
        let acc = 0;
        for (let k = 0; k < 4; k++) acc += (w[k] as number) * (src[l * lineStep + (idx[k] as number) * step + s] as number);
        out[l * outLineStep + o * outStep + s] = acc;
      }
    }
  }
}

/** Bicubic resize of an interleaved image (both axes enlarged or kept). */
function resizeBicubic(img: { width: number; height: number; channels: number; data: Float32Array }, width: number, height: number): Float32Array {
  const c = img.channels;
  const mid = new Float32Array(img.height * width * c);
  bicubicAxis(img.data, img.width, width, img.height, c, c, img.width * c, c, width * c, mid);
  const out = new Float32Array(height * width * c);
  // Vertical: lines are columns × channels.
  bicubicAxis(mid, img.height, height, 1, width * c, width * c, 0, width * c, 0, out);
  return out;
}

/** The transformed plane(s): enlarge bicubic, shrink by area averaging, then centre on the canvas. */
function transform(data: Float32Array, w: number, h: number, channels: 1 | 3, cond: Condition): { data: Float32Array; width: number; height: number } {
  const { sx, sy, canvasW, canvasH } = cond.scale(w, h);
  const width = Math.round(w * sx);
  const height = Math.round(h * sy);
  let scaled: Float32Array;
  if (width === w && height === h) scaled = data.slice();
  else if (width >= w && height >= h) scaled = resizeBicubic({ width: w, height: h, channels, data }, width, height);
  else scaled = resizeArea({ width: w, height: h, channels, data }, width, height).data;
  if (canvasW === undefined || canvasH === undefined) return { data: scaled, width, height };
  const out = new Float32Array(canvasW * canvasH * channels);
  const dx = Math.floor((canvasW - width) / 2);
  const dy = Math.floor((canvasH - height) / 2);
  for (let y = 0; y < height; y++) out.set(scaled.subarray(y * width * channels, (y + 1) * width * channels), ((y + dy) * canvasW + dx) * channels);
  return { data: out, width: canvasW, height: canvasH };
}

/** A DRIVE case through a condition: the image rounded to 8 bits, the masks thresholded at 0.5. */
export function transformCase(c: SegmentationCase, cond: Condition): SegmentationCase {
  const { width: w, height: h } = c.image;
  const img = transform(c.image.data, w, h, 3, cond);
  const image: InputImage = { width: img.width, height: img.height, channels: 3, data: img.data.map((v) => Math.round(Math.min(Math.max(v, 0), 1) * 255) / 255) };
  const mask = (m: Uint8Array): Uint8Array => Uint8Array.from(transform(Float32Array.from(m), w, h, 1, cond).data, (v) => (v >= 0.5 ? 1 : 0));
  return { name: c.name, image, fov: mask(c.fov), reference: mask(c.reference), secondObserver: mask(c.secondObserver) };
}

function share(mask: Uint8Array, fov: Uint8Array): number {
  let n = 0;
  let k = 0;
  fov.forEach((f, i) => {
    n += f;
    if (f === 1 && mask[i] === 1) k++;
  });
  return k / n;
}

/** A models folder holding the model with its manifest's input switched to the former stretch. */
function stretchModels(modelsDir: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'drive-stretch-'));
  const to = path.join(dir, MODEL);
  mkdirSync(to);
  copyFileSync(path.join(modelsDir, MODEL, 'model.onnx'), path.join(to, 'model.onnx'));
  const manifest = JSON.parse(readFileSync(path.join(modelsDir, MODEL, 'manifest.json'), 'utf8')) as { input: Record<string, unknown> };
  manifest.input.resize = 'area';
  delete manifest.input.fieldOfView;
  writeFileSync(path.join(to, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

const r4 = (v: number): number => Math.round(v * 10000) / 10000;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const repo = path.resolve('.');
  const modelsDir = path.join(repo, 'models');
  const { cases } = await readDrive(arg('--data') ?? resolveDataDir(repo));
  const threshold = (JSON.parse(readFileSync(path.join(modelsDir, MODEL, 'manifest.json'), 'utf8')) as { output: { classes: { threshold: number }[] } }).output.classes[0]?.threshold ?? 0.5;
  const stretchDir = stretchModels(modelsDir);
  const engines = {
    fovDiameter: await createInferenceEngine({ modelsDir, enabledModels: [MODEL], intraOpNumThreads: 1 }),
    stretch: await createInferenceEngine({ modelsDir: stretchDir, enabledModels: [MODEL], intraOpNumThreads: 1 }),
  };
  const trueShare = cases.map((c) => share(c.reference, c.fov));
  const results: Record<string, unknown>[] = [];
  const only = arg('--conditions')?.split(',');
  for (const cond of CONDITIONS.filter((c) => only === undefined || only.includes(c.name))) {
    const synthetic = cases.map((c) => transformCase(c, cond));
    for (const [method, engine] of Object.entries(engines)) {
      const maps: Float32Array[] = [];
      const measured: number[] = [];
      for (const c of synthetic) {
        const r = await engine.run(MODEL, c.image);
        if (r.map === undefined) throw new Error('no map');
        // The stretch maps at 565×584: onto the synthetic image as the overlay does.
        maps.push(r.map.width === c.image.width && r.map.height === c.image.height ? r.map.values : resizeArea({ width: r.map.width, height: r.map.height, channels: 1, data: r.map.values }, c.image.width, c.image.height).data);
        measured.push(r.measurements[0]?.fractionOfFieldOfView ?? Number.NaN);
      }
      const m = segmentationMetrics(synthetic, maps, threshold);
      const err = measured.map((v, i) => v - (trueShare[i] as number));
      const row = {
        condition: cond.name,
        method,
        size: `${synthetic[0]?.image.width ?? 0}×${synthetic[0]?.image.height ?? 0}`,
        dice: r4(m.dice),
        auc: r4(m.auc),
        sensitivity: r4(m.sensitivity),
        specificity: r4(m.specificity),
        vesselShareMean: r4(measured.reduce((a, b) => a + b, 0) / measured.length),
        vesselShareBias: r4(err.reduce((a, b) => a + b, 0) / err.length),
        vesselShareMeanAbsolute: r4(err.reduce((a, b) => a + Math.abs(b), 0) / err.length),
      };
      results.push(row);
      process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  }
  rmSync(stretchDir, { recursive: true, force: true });
  const out = {
    note: 'SYNTHETIC cross-device proxy: DRIVE test images rescaled (tools/eval/drive-rescale.ts); not another camera. Dice, AUC, sensitivity, specificity: pooled inside the transformed DRIVE FOV masks against the transformed first-observer masks; vessel share: the service measurement against the first observer share of the original image, per image, as fractions.',
    model: MODEL,
    threshold,
    firstObserverShareMean: r4(trueShare.reduce((a, b) => a + b, 0) / trueShare.length),
    conditions: Object.fromEntries(CONDITIONS.map((c) => [c.name, c.label])),
    results,
  };
  const file = arg('--out');
  if (file !== undefined) writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
