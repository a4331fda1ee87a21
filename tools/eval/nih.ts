/**
 * The NIH ChestX-ray14 sample in the data folder's `nih-cxr-621/nih_cxr_621_256.npz`: 621 adult
 * (and a few paediatric) frontal chest radiographs at 256×256 with NIH's 14 text-mined labels,
 * age, sex, view and, where matched, the RSNA Pneumonia Detection Challenge class
 * (`shared/data/nih-cxr-621/README.md`). Images reach the engine as 8-bit grey / 255, whole, as
 * any grey image would; the engine resizes and normalises them as the model's manifest says.
 */
import path from 'node:path';
import type { InputImage } from '../../src/inference/index.js';
import { readNpz } from './npz.js';
import type { NpyArray } from './npz.js';

/** The NIH 14 label names in the file's column order (checked when reading). */
export const NIH_LABELS = [
  'Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule', 'Pneumonia',
  'Pneumothorax', 'Consolidation', 'Edema', 'Emphysema', 'Fibrosis', 'Pleural_Thickening', 'Hernia',
] as const;

/** One NIH label name. */
export type NihLabel = (typeof NIH_LABELS)[number];

/** The RSNA classes, `''` when the image is not in the RSNA challenge set. */
export type RsnaClass = 'Lung Opacity' | 'No Lung Opacity / Not Normal' | 'Normal' | '';

/** One radiograph with its metadata. */
export interface NihCase {
  readonly imageIndex: string;
  readonly patientId: number;
  readonly age: number;
  readonly sex: string;
  readonly view: 'PA' | 'AP';
  /** The NIH labels present on this image; empty exactly when NIH says "No Finding". */
  readonly findings: ReadonlySet<NihLabel>;
  readonly noFinding: boolean;
  readonly rsnaClass: RsnaClass;
}

/** The sample: images as the service would see them, with their metadata, in file order. */
export interface NihSample {
  readonly images: readonly InputImage[];
  readonly cases: readonly NihCase[];
}

/** Where the sample is inside the data folder. */
export function nihPath(dataDir: string): string {
  return path.join(dataDir, 'nih-cxr-621', 'nih_cxr_621_256.npz');
}

function need(npz: Map<string, NpyArray>, key: string): NpyArray {
  const a = npz.get(key);
  if (a === undefined) throw new Error(`nih_cxr_621_256.npz: no array "${key}"`);
  return a;
}

function strings(a: NpyArray, key: string, n: number): readonly string[] {
  if (!Array.isArray(a.data) || a.data.length !== n) throw new Error(`nih_cxr_621_256.npz: ${key} is not ${n} strings`);
  return a.data as readonly string[];
}

function numbers(a: NpyArray, key: string, n: number): ArrayLike<number> {
  if (Array.isArray(a.data) || a.data instanceof BigInt64Array || a.data.length !== n) throw new Error(`nih_cxr_621_256.npz: ${key} is not ${n} numbers`);
  return a.data as ArrayLike<number>;
}

/**
 * Reads the sample.
 *
 * @throws when an array is missing or has an unexpected type or shape, the label columns differ
 *   from {@link NIH_LABELS}, or `no_finding` disagrees with the label rows
 */
export async function readNih(dataDir: string): Promise<NihSample> {
  const npz = await readNpz(nihPath(dataDir));
  const x = need(npz, 'images');
  if (!(x.data instanceof Uint8Array) || x.shape.length !== 3) throw new Error('nih_cxr_621_256.npz: images is not uint8 (N, H, W)');
  const [n = 0, h = 0, w = 0] = x.shape;
  const names = strings(need(npz, 'label_names'), 'label_names', NIH_LABELS.length);
  if (names.some((v, i) => v !== NIH_LABELS[i])) throw new Error(`nih_cxr_621_256.npz: label_names ${names.join(',')} differ from the expected order`);
  const labels = numbers(need(npz, 'labels'), 'labels', n * NIH_LABELS.length);
  const index = strings(need(npz, 'image_index'), 'image_index', n);
  const patient = numbers(need(npz, 'patient_id'), 'patient_id', n);
  const age = numbers(need(npz, 'age'), 'age', n);
  const sex = strings(need(npz, 'sex'), 'sex', n);
  const view = strings(need(npz, 'view'), 'view', n);
  const noFinding = numbers(need(npz, 'no_finding'), 'no_finding', n);
  const rsna = strings(need(npz, 'rsna_class'), 'rsna_class', n);
  const per = h * w;
  const images: InputImage[] = [];
  const cases: NihCase[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Float32Array(per);
    for (let k = 0; k < per; k++) data[k] = (x.data[i * per + k] as number) / 255;
    images.push({ width: w, height: h, channels: 1, data });
    const findings = new Set<NihLabel>(NIH_LABELS.filter((_, j) => labels[i * NIH_LABELS.length + j] === 1));
    const v = view[i];
    const r = rsna[i] ?? '';
    if (v !== 'PA' && v !== 'AP') throw new Error(`nih_cxr_621_256.npz: view "${v}" of image ${i}`);
    if (r !== 'Lung Opacity' && r !== 'No Lung Opacity / Not Normal' && r !== 'Normal' && r !== '') throw new Error(`nih_cxr_621_256.npz: rsna_class "${r}"`);
    const nf = noFinding[i] === 1;
    if (nf !== (findings.size === 0)) throw new Error(`nih_cxr_621_256.npz: no_finding disagrees with the labels of ${index[i]}`);
    cases.push({ imageIndex: index[i] ?? '', patientId: patient[i] ?? 0, age: age[i] ?? 0, sex: sex[i] ?? '', view: v, findings, noFinding: nf, rsnaClass: r });
  }
  return { images, cases };
}
