/**
 * The cardiac model card's numbers through the service's own path: every ACDC val patient's ED
 * and ES stacks go through `analyseCine` (windowing, resize, inference, thresholds, largest 3-D
 * component, slice summation, ED/ES choice) exactly as a cine series from the PACS would. Prints
 * LV EF agreement with the data set's EF (MAE, bias, SD, 95 % limits of agreement, Pearson r) and
 * 3-D Dice per structure at ED and ES (the service's 128 × 128 masks brought to the slice size by
 * nearest neighbour); writes them to `models/cardiac-mri-sax-seg/service-path.json`, and the LV EF
 * error into the manifest's `metrics.lvEjectionFraction` (what cards and Observations state).
 *
 *   npm run eval:cardiac [-- --data DIR] [--models DIR] [--no-write]
 *
 * Exit status 2 when the data or the model file is missing. With `--no-write` it only checks:
 * exit status 1 when the manifest's stated error differs from this path's by more than 0.05 points.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { analyseCine, type ModelProfile, type ModelRunner } from '../../src/analysis/index.js';
import { maskAtSourceResolution } from '../../src/dicom/index.js';
import { acdcImageSource, acdcValPath, readAcdcVal, type AcdcPatient } from './acdc.js';
import { repoRoot, runCommand, UsageError } from './cli.js';
import { resolveDataDir } from './data-dir.js';
import { evaluationEngine } from './engine.js';

const MODEL = 'cardiac-mri-sax-seg';
const STRUCTURES = ['rv_cavity', 'lv_myocardium', 'lv_cavity'] as const;
export const SERVICE_PATH_FILE = 'service-path.json';

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const mean = (v: readonly number[]): number => v.reduce((t, x) => t + x, 0) / v.length;
const sd = (v: readonly number[]): number => Math.sqrt(v.reduce((t, x) => t + (x - mean(v)) ** 2, 0) / (v.length - 1));

/** Agreement of predicted with reference values (Bland–Altman with the sample SD, Pearson r). */
export function agreement(pred: readonly number[], ref: readonly number[]): { n: number; mae: number; bias: number; sd: number; loa95: [number, number]; pearson_r: number } {
  const d = pred.map((p, i) => p - (ref[i] as number));
  const [mp, mr] = [mean(pred), mean(ref)];
  const cov = pred.reduce((t, p, i) => t + (p - mp) * ((ref[i] as number) - mr), 0);
  const r = cov / Math.sqrt(pred.reduce((t, p) => t + (p - mp) ** 2, 0) * ref.reduce((t, x) => t + (x - mr) ** 2, 0));
  const [bias, s] = [mean(d), sd(d)];
  return { n: d.length, mae: round(mean(d.map(Math.abs))), bias: round(bias), sd: round(s), loa95: [round(bias - 1.96 * s), round(bias + 1.96 * s)], pearson_r: round(r, 4) };
}

/** 3-D Dice of one structure: the masks (at their own size) brought to each slice's size against label `value`. */
function dice(masks: readonly { width: number; height: number; planes: readonly Uint8Array[] }[], k: number, labels: Uint8Array, shape: readonly [number, number, number], value: number): number {
  const [, rows, columns] = shape;
  let both = 0;
  let sum = 0;
  masks.forEach((m, z) => {
    const up = maskAtSourceResolution({ width: m.width, height: m.height, values: Float32Array.from(m.planes[k] ?? []) }, 0.5, { width: columns, height: rows }).data;
    for (let i = 0; i < rows * columns; i++) {
      const ref = labels[z * rows * columns + i] === value ? 1 : 0;
      both += (up[i] as number) & ref;
      sum += (up[i] as number) + ref;
    }
  });
  return sum === 0 ? 1 : (2 * both) / sum;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { models: { type: 'string' }, data: { type: 'string' }, 'no-write': { type: 'boolean' } } });
  const root = repoRoot(import.meta.url);
  const modelsDir = path.resolve(values.models ?? path.join(root, 'models'));
  const file = acdcValPath(values.data === undefined ? resolveDataDir(root) : path.resolve(values.data));
  const onnx = path.join(modelsDir, MODEL, 'model.onnx');
  for (const p of [file, onnx]) if (!existsSync(p)) throw new UsageError(`not found at ${p} (ACDC: IMAGING_CDS_DATA or --data; the model: npm run model:cardiac)`);
  const engine = await evaluationEngine(modelsDir, [MODEL], { maxBatch: 16, chunk: 16 });
  try {
    const m = engine.models().find((x) => x.id === MODEL);
    if (m === undefined) throw new Error(`${MODEL} did not load: ${JSON.stringify(engine.status())}`);
    const profile: ModelProfile = { model: { ...m, performance: '' }, accepts: m.accepts, windowing: m.input.windowing, series: 'cine-short-axis' };
    const models: ModelRunner = { profiles: () => [profile], run: (id, image) => engine.run(id, image), explain: () => Promise.resolve(undefined) };
    const patients: AcdcPatient[] = await readAcdcVal(file);
    const efPred: number[] = [];
    const diceOf = { ed: STRUCTURES.map(() => [] as number[]), es: STRUCTURES.map(() => [] as number[]) };
    for (const p of patients) {
      const cine = await analyseCine({ images: acdcImageSource(p), models }, profile, { root: 'acdc', studyUid: '2.25.1', seriesUid: '2.25.1.1' });
      efPred.push(cine.measures.lvEfPercent ?? Number.NaN);
      // ED and ES are the phases of largest and smallest LV volume: the data set's ED is phase 1.
      const [edMasks, esMasks] = cine.measures.edPhase === 0 ? [cine.edMasks, cine.esMasks] : [cine.esMasks, cine.edMasks];
      STRUCTURES.forEach((_, k) => {
        diceOf.ed[k]?.push(dice(edMasks, k, p.edLabel, p.shape, k + 1));
        diceOf.es[k]?.push(dice(esMasks, k, p.esLabel, p.shape, k + 1));
      });
    }
    const summary = (v: readonly number[]): { mean: number; sd: number } => ({ mean: round(mean(v), 4), sd: round(sd(v), 4) });
    const result = {
      model: MODEL,
      version: m.version,
      command: 'npm run eval:cardiac',
      path: 'src/analysis/cine-analysis.ts analyseCine: the service windowing, area resize to 128 x 128, onnxruntime, threshold 0.5 per class, largest 26-connected component per structure and phase, slice summation at 128 x 128, ED/ES as largest/smallest LV volume',
      data: `ACDC val, ${patients.length} patients (the split every choice was made on; not a test set)`,
      lvEjectionFraction: agreement(efPred, patients.map((p) => p.efReference)),
      dice: Object.fromEntries((['ed', 'es'] as const).map((f) => [f, Object.fromEntries(STRUCTURES.map((s, k) => [s, summary(diceOf[f][k] ?? [])]))])),
    };
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
    const manifestFile = path.join(modelsDir, MODEL, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { metrics: Record<string, unknown> };
    const measured = result.lvEjectionFraction;
    const ef = { mae: measured.mae, bias: measured.bias, loa95: measured.loa95, pearson_r: measured.pearson_r };
    if (values['no-write'] === true) {
      // A check only: the stated error must be what this path measures.
      const stated = manifest.metrics['lvEjectionFraction'] as { mae: number; bias: number } | undefined;
      const same = stated !== undefined && Math.abs(stated.mae - ef.mae) <= 0.05 && Math.abs(stated.bias - ef.bias) <= 0.05;
      process.stdout.write(`the manifest states LV EF MAE ${stated?.mae ?? 'none'}, bias ${stated?.bias ?? 'none'}; this path measures MAE ${ef.mae}, bias ${ef.bias}: ${same ? 'the same' : 'DIFFERENT'}\n`);
      return same ? 0 : 1;
    }
    await writeFile(path.join(modelsDir, MODEL, SERVICE_PATH_FILE), `${JSON.stringify(result, null, 1)}\n`);
    // The error the card and the Observations state is this path's (the service's own).
    manifest.metrics['lvEjectionFraction'] = ef;
    await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    process.stdout.write(`wrote models/${MODEL}/${SERVICE_PATH_FILE} and metrics.lvEjectionFraction in models/${MODEL}/manifest.json\n`);
    return 0;
  } finally {
    await engine.close();
  }
}

runCommand('evaluate-cardiac', main);
