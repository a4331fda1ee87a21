/**
 * The model manifest (`models/<id>/manifest.json`, format in models/MANIFEST.md): a zod schema
 * for its shape plus the cross-field rules a schema alone cannot state. A manifest that passes
 * here can be trusted by every later step (preprocessing sizes, label indices, thresholds).
 */
import path from 'node:path';
import { z } from 'zod';
import type { Coding, ModelAccepts, ModelMetrics } from './types.js';
import { AcceptsSchema } from './manifest-accepts.js';
import { SeriesInputSchema, seriesInputIssues, type ManifestInput } from './manifest-input.js';
import { FovResizeSchema, fovResizeIssues, MeasurementErrorSchema, type MeasurementError } from './manifest-segmentation.js';

/** A label whose probability becomes a {@link Finding}. */
export interface ReportedLabel {
  readonly index: number;
  readonly key: string;
  readonly display: string;
  readonly report: true;
  readonly codes: readonly Coding[];
  readonly threshold: number;
  /** Inclusive [low, high] around the threshold; a probability inside needs a radiologist's review. */
  readonly reviewBand: readonly [number, number];
  readonly urgency: 'info' | 'warning' | 'critical';
  /** A follow-up order the card may suggest when the finding is positive (or needs review). */
  readonly followUp?: FollowUp | undefined;
}

/** A suggested follow-up order: a ServiceRequest code, offered as a draft the clinician may accept. */
export interface FollowUp {
  readonly code: Coding;
  /** One line for the suggestion label, e.g. "Order a follow-up chest radiograph". */
  readonly text: string;
  /** `positive`: only above threshold; `positive-or-review`: also inside the review band. */
  readonly when: 'positive' | 'positive-or-review';
}

/** A label the model outputs (softmax needs it) but that never becomes a finding. */
export interface SilentLabel {
  readonly index: number;
  readonly key: string;
  readonly display: string;
  readonly report: false;
  readonly codes?: readonly Coding[] | undefined;
}

export type ManifestLabel = ReportedLabel | SilentLabel;

export type { ManifestInput };

export interface ManifestOutput {
  /** Name of the ONNX graph output holding the logits. */
  readonly name: string;
  readonly activation: 'softmax' | 'sigmoid';
  /** Logits are divided by this before the activation (temperature scaling); 1 when absent. */
  readonly temperature: number;
  /** Exactly one label per output index 0 … n-1. */
  readonly labels: readonly ManifestLabel[];
}

/** One class of a segmentation model: one output channel, thresholded per pixel. */
export interface SegmentationClass {
  readonly index: number;
  readonly key: string;
  readonly display: string;
  readonly codes: readonly Coding[];
  /** A pixel belongs to the class when its probability is ≥ this. */
  readonly threshold: number;
  /** How far the measured share was from a manual annotation (reports state it). */
  readonly measurementError?: MeasurementError | undefined;
}

export interface SegmentationOutput {
  /** Name of the ONNX graph output: logits `[N, classes, height, width]` at the input size. */
  readonly name: string;
  /** Per pixel and class, independent: a pixel may belong to several classes. */
  readonly activation: 'sigmoid';
  readonly temperature: number;
  /** Exactly one class per output channel 0 … n-1. */
  readonly classes: readonly SegmentationClass[];
  /**
   * How to find the imaged region that densities are measured against: pixels whose mean
   * channel value (in [0, 1]) is at least `minIntensity` (e.g. the bright disc of a fundus
   * photograph). Absent: the whole image.
   */
  readonly fieldOfView?: { readonly minIntensity: number } | undefined;
}

/** One metrics section of a manifest and the labelled test set that checks it. */
export interface ModelEvaluation {
  readonly section: 'metrics' | 'metrics.benchmark';
  /** `kind` names a test-set reader of tools/eval; the other fields are that reader's. */
  readonly testSet: { readonly kind: string; readonly [field: string]: unknown };
}

interface ManifestCommon {
  readonly schemaVersion: 1;
  readonly id: string;
  readonly version: string;
  readonly name: string;
  readonly manufacturer: string;
  readonly file: string;
  /** False: the folder ships but does not load unless the configured model list names it. */
  readonly enabled: boolean;
  readonly intendedUse: string;
  readonly accepts: ModelAccepts;
  readonly input: ManifestInput;
  readonly templates: { readonly card: string; readonly report: string };
  readonly metrics: ModelMetrics;
  /** Test sets that check the metrics sections; read by tools/eval only. */
  readonly evaluation?: readonly ModelEvaluation[] | undefined;
  /** Absolute path of the model folder. */
  readonly dir: string;
  /** Absolute path of the .onnx file. */
  readonly modelPath: string;
}

export interface ClassificationManifest extends ManifestCommon {
  readonly task: 'classification';
  readonly output: ManifestOutput;
}

export interface SegmentationManifest extends ManifestCommon {
  readonly task: 'segmentation';
  readonly output: SegmentationOutput;
}

/** A validated manifest, plus where it was found. Deeply frozen. */
export type ModelManifest = ClassificationManifest | SegmentationManifest;

/** Values the model writes per image: one logit per label, or per class and pixel. */
export function outputValuesPerImage(m: ModelManifest): number {
  return m.task === 'classification' ? m.output.labels.length : m.output.classes.length * m.input.width * m.input.height;
}

/** One problem in a manifest, located by a path such as `output.labels[1].threshold`. */
export interface ManifestIssue {
  readonly path: string;
  readonly message: string;
}

/** A manifest that cannot be used; `message` lists every issue on one line (it goes to /readyz). */
export class ManifestError extends Error {
  readonly issues: readonly ManifestIssue[];

  constructor(issues: readonly ManifestIssue[]) {
    super(`invalid manifest: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'ManifestError';
    this.issues = issues;
  }
}

const text = z.string().min(1, 'must not be empty');
const probability = z.number().min(0, 'must be within [0, 1]').max(1, 'must be within [0, 1]');
const identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-"');
// z.* types have no literal-union helper for numbers; a union of literals gives `1 | 3`.
const channels = z.union([z.literal(1), z.literal(3)], { error: 'must be 1 or 3' });
const dimension = z.int('must be an integer').min(1, 'must be at least 1').max(4096, 'must be at most 4096');

const CodingSchema = z.strictObject({ system: text, code: text, display: text });

const labelBase = { index: z.int('must be an integer').min(0, 'must be ≥ 0'), key: identifier, display: text };

const ReportedLabelSchema = z.strictObject({
  ...labelBase,
  report: z.literal(true),
  codes: z
    .array(CodingSchema, { error: (iss) => (iss.input === undefined ? 'required when report is true' : undefined) })
    .min(1, 'a label with report: true needs at least one code'),
  threshold: z
    .number({ error: (iss) => (iss.input === undefined ? 'required when report is true' : 'must be a number') })
    .min(0, 'must be within [0, 1]')
    .max(1, 'must be within [0, 1]'),
  reviewBand: z.tuple([probability, probability], {
    error: (iss) => (iss.input === undefined ? 'required when report is true' : 'must be [low, high]'),
  }),
  urgency: z.enum(['info', 'warning', 'critical'], {
    error: (iss) => (iss.input === undefined ? 'required when report is true' : 'must be info, warning or critical'),
  }),
  followUp: z.strictObject({ code: CodingSchema, text: text.max(100, 'must be at most 100 characters'), when: z.enum(['positive', 'positive-or-review']) }).optional(),
});

const SilentLabelSchema = z.strictObject({
  ...labelBase,
  report: z.literal(false),
  codes: z.array(CodingSchema).optional(),
});

const WindowingSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('dicom') }),
    z.strictObject({ kind: z.literal('fixed'), center: z.number(), width: z.number().positive('must be > 0') }),
    z.strictObject({ kind: z.literal('minmax') }),
  ],
  { error: 'kind must be dicom, fixed or minmax' },
);

const common = {
  schemaVersion: z.literal(1, 'must be 1'),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower-case letters, digits, ".", "_" or "-"'),
  version: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)*$/, 'must be a semantic version like 1.0.0'),
  name: text,
  manufacturer: text,
  // A bare file name: the model folder is the unit of deployment, nothing outside it is read.
  file: z.string().regex(/^(?!\.\.?$)[^/\\]+\.onnx$/, 'must be a file name inside the model folder ending in .onnx'),
  enabled: z.boolean('must be true or false').default(true),
  intendedUse: text,
  accepts: AcceptsSchema,
  input: z.strictObject({
    name: text,
    width: dimension,
    height: dimension,
    channels,
    windowing: WindowingSchema,
    resize: z.enum(['area', 'fov-diameter'], 'must be "area" or "fov-diameter"'),
    fieldOfView: FovResizeSchema.optional(),
    series: SeriesInputSchema.optional(),
    normalization: z.strictObject({
      mean: z.array(z.number()).min(1, 'must list one value per channel'),
      std: z.array(z.number().positive('must be > 0')).min(1, 'must list one value per channel'),
    }),
  }),
  templates: z.strictObject({ card: text, report: text }),
  // Loose: training may record more metrics than the service shows; the known ones are typed.
  metrics: z.looseObject({
    dataset: text,
    auc: probability.optional(),
    auc95: z.tuple([probability, probability]).optional(),
    accuracy: probability.optional(),
    sensitivity: probability.optional(),
    specificity: probability.optional(),
    dice: probability.optional(),
    dice95: z.tuple([probability, probability]).optional(),
    lvEjectionFraction: z.looseObject({ mae: z.number().min(0), bias: z.number(), loa95: z.tuple([z.number(), z.number()]) }).optional(),
  }),
  // Which labelled test set checks which metrics section. The service never reads it; the
  // evaluation tool (tools/eval) validates the test-set description it names.
  evaluation: z
    .array(z.looseObject({ section: z.enum(['metrics', 'metrics.benchmark']), testSet: z.looseObject({ kind: text }) }))
    .optional(),
};

const ClassificationSchema = z.strictObject({
  ...common,
  task: z.literal('classification'),
  output: z.strictObject({
    name: text,
    activation: z.enum(['softmax', 'sigmoid'], 'must be softmax or sigmoid'),
    temperature: z.number().positive('must be > 0').default(1),
    labels: z
      .array(z.discriminatedUnion('report', [ReportedLabelSchema, SilentLabelSchema], { error: 'report must be true or false' }))
      .min(1, 'must list at least one label'),
  }),
});

const SegmentationSchema = z.strictObject({
  ...common,
  task: z.literal('segmentation'),
  output: z.strictObject({
    name: text,
    activation: z.literal('sigmoid', 'must be sigmoid (one independent probability per pixel and class)'),
    temperature: z.number().positive('must be > 0').default(1),
    classes: z
      .array(
        z.strictObject({
          ...labelBase,
          codes: z.array(CodingSchema).min(1, 'a class needs at least one code'),
          threshold: probability,
          measurementError: MeasurementErrorSchema.optional(),
        }),
      )
      .min(1, 'must list at least one class'),
    fieldOfView: z.strictObject({ minIntensity: probability }).optional(),
  }),
});

const ManifestSchema = z.discriminatedUnion('task', [ClassificationSchema, SegmentationSchema], {
  error: 'task must be "classification" or "segmentation"',
});

type ManifestBody = Omit<ClassificationManifest, 'dir' | 'modelPath'> | Omit<SegmentationManifest, 'dir' | 'modelPath'>;
type Issue = { path: (string | number)[]; message: string };

/**
 * Each output index has exactly one entry, and keys are unique. For softmax a missing or extra
 * index would silently change every probability; for segmentation it would read the wrong plane.
 */
function indexIssues(entries: readonly { index: number; key: string }[], field: 'labels' | 'classes', noun: string): Issue[] {
  const issues: Issue[] = [];
  const byIndex = new Map<number, number>();
  const byKey = new Map<string, number>();
  entries.forEach((entry, i) => {
    const at = ['output', field, i];
    if (entry.index >= entries.length) {
      issues.push({ path: [...at, 'index'], message: `${entry.index} is outside the model output (${entries.length} ${noun} → indices 0..${entries.length - 1})` });
    }
    const dupIndex = byIndex.get(entry.index);
    if (dupIndex !== undefined) issues.push({ path: [...at, 'index'], message: `${entry.index} is already used by output.${field}[${dupIndex}]` });
    else byIndex.set(entry.index, i);
    const dupKey = byKey.get(entry.key);
    if (dupKey !== undefined) issues.push({ path: [...at, 'key'], message: `"${entry.key}" is already used by output.${field}[${dupKey}]` });
    else byKey.set(entry.key, i);
  });
  return issues;
}

function classificationIssues(output: ManifestOutput): Issue[] {
  const { labels } = output;
  const issues = indexIssues(labels, 'labels', 'labels');
  labels.forEach((label, i) => {
    if (!label.report) return;
    const [low, high] = label.reviewBand;
    if (!(low <= label.threshold && label.threshold <= high)) {
      issues.push({ path: ['output', 'labels', i, 'reviewBand'], message: `must satisfy low ≤ threshold ≤ high, got [${low}, ${high}] with threshold ${label.threshold}` });
    }
  });
  if (!labels.some((l) => l.report)) {
    issues.push({ path: ['output', 'labels'], message: 'no label has report: true, so the model can never produce a finding' });
  }
  if (output.activation === 'softmax' && labels.length < 2) {
    issues.push({ path: ['output', 'activation'], message: 'softmax needs at least two labels (it would always give 1)' });
  }
  return issues;
}

/** The rules between fields. Runs only on a structurally valid manifest. */
function crossFieldIssues(m: ManifestBody): Issue[] {
  const issues = m.task === 'classification' ? classificationIssues(m.output) : indexIssues(m.output.classes, 'classes', 'classes');
  issues.push(...fovResizeIssues(m.input, m.task));
  issues.push(...seriesInputIssues(m.input.series, m.task, m.task === 'segmentation' ? m.output.classes.map((c) => c.key) : []));
  const { mean, std } = m.input.normalization;
  for (const [name, values] of [['mean', mean], ['std', std]] as const) {
    if (values.length !== m.input.channels) {
      issues.push({ path: ['input', 'normalization', name], message: `has ${values.length} values but input.channels is ${m.input.channels}` });
    }
  }
  return issues;
}

function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const part of p) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Validates a manifest and resolves its model file against the folder.
 *
 * @param json - the manifest: JSON text (as read from manifest.json) or an already parsed value
 * @param dir - the model folder; its name must equal the manifest's `id`, so a model is found
 *   where its id says and two folders can never claim one id
 * @returns the typed, deeply frozen manifest
 * @throws ManifestError listing every issue by path (all issues at once, not just the first)
 */
export function parseManifest(json: unknown, dir: string): ModelManifest {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new ManifestError([{ path: '(root)', message: `not valid JSON: ${(err as Error).message}` }]);
    }
  }
  const parsed = ManifestSchema.safeParse(value);
  if (!parsed.success) {
    throw new ManifestError(parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  // The assignment checks at compile time that the schema's output matches the interfaces.
  const body: ManifestBody = parsed.data;
  const issues = crossFieldIssues(body);
  const absDir = path.resolve(dir);
  const folder = path.basename(absDir);
  if (body.id !== folder) issues.push({ path: ['id'], message: `"${body.id}" does not match its folder name "${folder}"` });
  if (issues.length > 0) {
    throw new ManifestError(issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  return deepFreeze({ ...body, dir: absDir, modelPath: path.join(absDir, body.file) });
}
