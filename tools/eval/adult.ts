/**
 * How the paediatric chest models behave on adults: every chest classifier run through the
 * service's inference engine (createInferenceEngine → run, the same preprocessing and ONNX
 * session as the service) on the NIH ChestX-ray14 sample (`nih.ts`), with AUC, sensitivity and
 * specificity at the shipped threshold and their seeded bootstrap intervals, overall, by view
 * and by age band, for each reference definition below; the share of normal adults the card
 * calls suspected pneumonia; and the 10-bin calibration error.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { evaluationEngine } from './engine.js';
import type { InferenceEngine, InputImage } from '../../src/inference/index.js';
import { reliability, shareWithInterval, summariseBinary } from './calibration-metrics.js';
import type { BinarySummary, BootstrapOptions, ReliabilityBin, Share } from './calibration-metrics.js';
import { nihPath, readNih } from './nih.js';
import type { NihCase, NihLabel, NihSample } from './nih.js';

/** A reference standard on the NIH sample: which images count as positive, which as negative; the rest are left out. */
export interface LabelDefinition {
  readonly key: string;
  readonly positive: string;
  readonly negative: string;
  readonly why: string;
  /** 1 positive, 0 negative, undefined = not part of this comparison. */
  readonly label: (c: NihCase) => 0 | 1 | undefined;
}

const PNEUMONIA_LIKE: readonly NihLabel[] = ['Pneumonia', 'Consolidation', 'Infiltration'];

/** The reference definitions, the first is the primary one. */
export const LABEL_DEFINITIONS: readonly LabelDefinition[] = [
  {
    key: 'nih-pneumonia-consolidation-infiltration-vs-no-finding',
    positive: 'NIH label Pneumonia or Consolidation or Infiltration (any other labels allowed)',
    negative: 'NIH "No Finding" (no label at all)',
    why:
      'The three NIH labels that describe airspace opacity, which is what the paediatric training labels (bacterial or viral pneumonia vs normal) ' +
      'show on a radiograph; "No Finding" is the only NIH normal. Images with only other findings (effusion, nodule, cardiomegaly, …) are left out: ' +
      'the model was never asked about them. Labels are text-mined from reports and noisy.',
    label: (c) => ([...c.findings].some((f) => PNEUMONIA_LIKE.includes(f)) ? 1 : c.noFinding ? 0 : undefined),
  },
  {
    key: 'rsna-lung-opacity-vs-normal',
    positive: 'RSNA Pneumonia Detection Challenge class "Lung Opacity"',
    negative: 'RSNA class "Normal"',
    why:
      'Radiologist-read labels (the RSNA challenge re-read these NIH images for pneumonia-like opacity), so less noisy than the NIH text mining; ' +
      'only the 222 matched images, and "No Lung Opacity / Not Normal" is left out because it is neither normal nor the finding. Small: 29 positives.',
    label: (c) => (c.rsnaClass === 'Lung Opacity' ? 1 : c.rsnaClass === 'Normal' ? 0 : undefined),
  },
  {
    key: 'nih-pneumonia-vs-no-finding',
    positive: 'NIH label Pneumonia',
    negative: 'NIH "No Finding"',
    why: 'The narrowest NIH reading of the finding the card names; 32 positives only, so wide intervals.',
    label: (c) => (c.findings.has('Pneumonia') ? 1 : c.noFinding ? 0 : undefined),
  },
];

/** Age bands in years: [from, below). */
export const AGE_BANDS = [
  { key: '<18', from: 0, below: 18 },
  { key: '18-39', from: 18, below: 40 },
  { key: '40-59', from: 40, below: 60 },
  { key: '>=60', from: 60, below: Number.POSITIVE_INFINITY },
] as const;

/** Adults: 18 years and over. */
export const ADULT_AGE = 18;

/** What the engine said about one image's reported finding. */
export interface ImageResult {
  readonly probability: number;
  /** probability ≥ threshold (the manifest's positive rule). */
  readonly positive: boolean;
  /** probability inside the review band: the card says "indeterminate, review required". */
  readonly needsReview: boolean;
}

/** One label definition's numbers. */
export interface DefinitionResult {
  readonly key: string;
  readonly positive: string;
  readonly negative: string;
  readonly why: string;
  readonly allAges: BinarySummary;
  readonly adults: BinarySummary;
  readonly byView: Readonly<Record<'PA' | 'AP', BinarySummary>>;
  readonly byAge: Readonly<Record<string, BinarySummary>>;
  /** Adults only (age ≥ 18), 10 equal-width bins. */
  readonly reliabilityAdults: readonly ReliabilityBin[];
}

/** Normal adults and what the card tells about them. */
export interface NormalAdults {
  readonly definition: string;
  /** probability ≥ threshold. */
  readonly atOrAboveThreshold: Share;
  /** Card state "suspected" (above threshold and above the review band). */
  readonly cardSuspected: Share;
  /** Card state "indeterminate: radiologist review required" (inside the review band). */
  readonly cardIndeterminate: Share;
  readonly medianProbability: number | null;
}

/** The file `models/<id>/external-nih-adult.json`. */
export interface AdultEvaluation {
  readonly model: string;
  readonly version: string;
  readonly command: string;
  readonly data: { readonly file: string; readonly sha256: string; readonly images: number; readonly adults: number; readonly under18: number };
  readonly pipeline: string;
  readonly measuredOn: string;
  readonly operatingPoint: { readonly temperature: number; readonly threshold: number; readonly reviewBand: readonly [number, number] };
  readonly bootstrap: string;
  readonly ece: string;
  readonly ageBands: readonly string[];
  readonly definitions: readonly DefinitionResult[];
  readonly normalAdults: readonly NormalAdults[];
  readonly adultImagesFlagged: { readonly atOrAboveThreshold: Share; readonly cardSuspected: Share; readonly cardIndeterminate: Share };
}

const ManifestSchema = z.looseObject({
  id: z.string(),
  version: z.string(),
  task: z.string(),
  accepts: z.looseObject({ bodyParts: z.array(z.string()).optional() }),
  output: z.looseObject({
    temperature: z.number().optional(),
    labels: z.array(z.looseObject({ key: z.string(), report: z.boolean(), threshold: z.number().optional(), reviewBand: z.tuple([z.number(), z.number()]).optional() })).optional(),
  }),
});

type Manifest = z.infer<typeof ManifestSchema>;

/** Reads a model's manifest (the parts this evaluation needs). */
export async function readChestManifest(modelsDir: string, modelId: string): Promise<Manifest> {
  return ManifestSchema.parse(JSON.parse(await readFile(path.join(modelsDir, modelId, 'manifest.json'), 'utf8')));
}

/** Whether a manifest describes a chest classifier (accepts body part CHEST). */
export function isChestClassifier(m: Manifest): boolean {
  return m.task === 'classification' && (m.accepts.bodyParts ?? []).includes('CHEST');
}

const CHUNK = 128;

/** Runs the model on every image through the engine. */
async function resultsFor(engine: InferenceEngine, modelId: string, key: string, images: readonly InputImage[]): Promise<ImageResult[]> {
  const out: ImageResult[] = [];
  for (let start = 0; start < images.length; start += CHUNK) {
    const results = await Promise.all(images.slice(start, start + CHUNK).map((img) => engine.run(modelId, img)));
    for (const r of results) {
      const f = r.findings.find((x) => x.key === key);
      if (f === undefined) throw new Error(`${modelId} returned no finding "${key}"`);
      out.push({ probability: f.probability, positive: f.interpretation === 'positive', needsReview: f.needsReview });
    }
  }
  return out;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** Rounds every number of a JSON-able value to 4 decimals (integers stay as they are). */
export function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round4(v) : v))) as T;
}

function summary(cases: readonly NihCase[], results: readonly ImageResult[], def: LabelDefinition, keep: (c: NihCase) => boolean, threshold: number, boot: BootstrapOptions): BinarySummary {
  const y: number[] = [];
  const p: number[] = [];
  cases.forEach((c, i) => {
    const l = def.label(c);
    if (l !== undefined && keep(c)) {
      y.push(l);
      p.push((results[i] as ImageResult).probability);
    }
  });
  return summariseBinary(y, p, threshold, boot);
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

function flagShares(rs: readonly ImageResult[], boot: BootstrapOptions): { atOrAboveThreshold: Share; cardSuspected: Share; cardIndeterminate: Share } {
  return {
    atOrAboveThreshold: shareWithInterval(rs.map((r) => r.positive), boot),
    cardSuspected: shareWithInterval(rs.map((r) => r.positive && !r.needsReview), boot),
    cardIndeterminate: shareWithInterval(rs.map((r) => r.needsReview), boot),
  };
}

/**
 * The numbers for one model from its per-image results on the sample.
 *
 * @param cases - the sample's metadata, in the order of `results`
 */
export function adultNumbers(cases: readonly NihCase[], results: readonly ImageResult[], threshold: number, boot: BootstrapOptions = {}): Pick<AdultEvaluation, 'definitions' | 'normalAdults' | 'adultImagesFlagged'> {
  const adult = (c: NihCase): boolean => c.age >= ADULT_AGE;
  const definitions = LABEL_DEFINITIONS.map((def): DefinitionResult => {
    const byAge: Record<string, BinarySummary> = {};
    for (const b of AGE_BANDS) byAge[b.key] = summary(cases, results, def, (c) => c.age >= b.from && c.age < b.below, threshold, boot);
    const y: number[] = [];
    const p: number[] = [];
    cases.forEach((c, i) => {
      const l = def.label(c);
      if (l !== undefined && adult(c)) {
        y.push(l);
        p.push((results[i] as ImageResult).probability);
      }
    });
    return {
      key: def.key,
      positive: def.positive,
      negative: def.negative,
      why: def.why,
      allAges: summary(cases, results, def, () => true, threshold, boot),
      adults: summary(cases, results, def, adult, threshold, boot),
      byView: {
        PA: summary(cases, results, def, (c) => c.view === 'PA', threshold, boot),
        AP: summary(cases, results, def, (c) => c.view === 'AP', threshold, boot),
      },
      byAge,
      reliabilityAdults: reliability(y, p).table,
    };
  });
  const normals: Array<[string, (c: NihCase) => boolean]> = [
    ['NIH "No Finding", age >= 18', (c) => c.noFinding && adult(c)],
    ['RSNA "Normal", age >= 18', (c) => c.rsnaClass === 'Normal' && adult(c)],
  ];
  const normalAdults = normals.map(([definition, keep]): NormalAdults => {
    const rs = results.filter((_, i) => keep(cases[i] as NihCase));
    return { definition, ...flagShares(rs, boot), medianProbability: median(rs.map((r) => r.probability)) };
  });
  return { definitions, normalAdults, adultImagesFlagged: flagShares(results.filter((_, i) => adult(cases[i] as NihCase)), boot) };
}

/** What {@link evaluateAdults} runs. */
export interface AdultOptions {
  readonly modelsDir: string;
  readonly dataDir: string;
  readonly modelIds: readonly string[];
  readonly bootstrap?: BootstrapOptions | undefined;
  /** The command line recorded in the result. */
  readonly command: string;
  /** The sample, when already read (tests). */
  readonly sample?: NihSample | undefined;
}

/** The hardware the numbers were measured on, in words. */
export function hardware(): string {
  const cpus = os.cpus();
  return `${cpus.length}-core ${cpus[0]?.model.trim() ?? 'unknown CPU'}, CPU only (onnxruntime-node), ${os.platform()} ${os.arch()}`;
}

/** Runs every named chest model on the NIH sample through the engine and computes its numbers. */
export async function evaluateAdults(options: AdultOptions): Promise<AdultEvaluation[]> {
  const boot = { resamples: options.bootstrap?.resamples ?? 2000, seed: options.bootstrap?.seed ?? 12345 };
  const file = nihPath(options.dataDir);
  const sha256 = createHash('sha256').update(await readFile(file)).digest('hex');
  const sample = options.sample ?? (await readNih(options.dataDir));
  const manifests = await Promise.all(options.modelIds.map((id) => readChestManifest(options.modelsDir, id)));
  const engine = await evaluationEngine(options.modelsDir, options.modelIds, { maxBatch: 32, chunk: CHUNK });
  const out: AdultEvaluation[] = [];
  try {
    for (const m of manifests) {
      const status = engine.status().models.find((s) => s.id === m.id);
      if (status?.status !== 'ready') throw new Error(`${m.id}: model not ready: ${status?.reason ?? 'no such model folder'}`);
      const reported = (m.output.labels ?? []).filter((l) => l.report);
      const label = reported[0];
      if (reported.length !== 1 || label?.threshold === undefined || label.reviewBand === undefined) throw new Error(`${m.id}: expected one reported label with a threshold and review band`);
      const results = await resultsFor(engine, m.id, label.key, sample.images);
      const adults = sample.cases.filter((c) => c.age >= ADULT_AGE).length;
      out.push(
        rounded({
          model: m.id,
          version: m.version,
          command: options.command,
          data: { file: 'nih-cxr-621/nih_cxr_621_256.npz', sha256, images: sample.cases.length, adults, under18: sample.cases.length - adults },
          pipeline: 'grey 8-bit / 255 at 256x256, whole image → createInferenceEngine → run (the service\'s resize, normalisation, ONNX session, temperature and thresholds)',
          measuredOn: hardware(),
          operatingPoint: { temperature: m.output.temperature ?? 1, threshold: label.threshold, reviewBand: label.reviewBand },
          bootstrap: `95% percentile bootstrap, ${boot.resamples} case resamples per subgroup, mulberry32 seed ${boot.seed} restarted for every subgroup; a resample lacking a class is left out of that statistic`,
          ece: 'ECE10: 10 equal-width bins of the finding probability p in [0,1], sum of n_k/N |mean p - observed rate|, on the images the definition labels',
          ageBands: AGE_BANDS.map((b) => b.key),
          ...adultNumbers(sample.cases, results, label.threshold, boot),
        }),
      );
    }
  } finally {
    await engine.close();
  }
  return out;
}

function fmt(x: number | null, ci?: readonly [number, number] | null): string {
  if (x === null) return '—';
  return ci === undefined || ci === null ? x.toFixed(3) : `${x.toFixed(3)} (${ci[0].toFixed(3)}–${ci[1].toFixed(3)})`;
}

/** A plain-text summary of the results, one block per model. */
export function formatAdult(results: readonly AdultEvaluation[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.model} ${r.version} on the NIH sample (${r.data.images} images, ${r.data.adults} adults), threshold ${r.operatingPoint.threshold}`);
    for (const d of r.definitions) {
      lines.push(`  ${d.key}`);
      const row = (name: string, s: BinarySummary): string =>
        `    ${name.padEnd(10)} n=${String(s.n).padStart(3)} (+${s.positives}/-${s.negatives})  AUC ${fmt(s.auc, s.auc95)}  sens ${fmt(s.sensitivity, s.sensitivity95)}  spec ${fmt(s.specificity, s.specificity95)}  ECE10 ${fmt(s.ece10)}`;
      lines.push(row('all ages', d.allAges), row('adults', d.adults), row('PA', d.byView.PA), row('AP', d.byView.AP));
      for (const [k, s] of Object.entries(d.byAge)) lines.push(row(`age ${k}`, s));
    }
    for (const n of r.normalAdults) {
      lines.push(`  normal adults (${n.definition}): n=${n.atOrAboveThreshold.n}, ≥ threshold ${fmt(n.atOrAboveThreshold.share, n.atOrAboveThreshold.share95)}, card "suspected" ${fmt(n.cardSuspected.share, n.cardSuspected.share95)}, "indeterminate" ${fmt(n.cardIndeterminate.share, n.cardIndeterminate.share95)}`);
    }
  }
  return lines.join('\n');
}
