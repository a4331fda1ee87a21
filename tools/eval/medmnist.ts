/**
 * Test-set kind `medmnist`: the official test split of a MedMNIST `.npz` file in the data
 * folder's `medmnist/` (uint8 images → [0, 1] floats), with the data set's class labels mapped
 * to finding present / absent by `positiveLabels`.
 */
import path from 'node:path';
import { z } from 'zod';
import type { InputImage } from '../../src/inference/index.js';
import { readNpz } from './npz.js';
import type { LabelledImages } from './test-set-types.js';

/** `{ "kind": "medmnist", "file": "breastmnist.npz", "positiveLabels": [0] }` */
export const MedmnistTestSetSchema = z.strictObject({
  kind: z.literal('medmnist'),
  /** File name inside the data folder's `medmnist/`. */
  file: z.string().regex(/^[\w.-]+\.npz$/, 'must be the name of a .npz file in the data folder\'s medmnist/, e.g. "pneumoniamnist.npz"'),
  /** The data set's labels that mean "the reported finding is present"; every other label is absent. */
  positiveLabels: z
    .array(z.int('must be whole numbers').nonnegative('must be ≥ 0'), 'must be a list of label numbers')
    .min(1, 'must name at least one label'),
});

/** A parsed `medmnist` test-set description. */
export type MedmnistTestSet = z.infer<typeof MedmnistTestSetSchema>;

/** Where the test set's file is. */
export function medmnistPath(dataDir: string, spec: MedmnistTestSet): string {
  return path.join(dataDir, 'medmnist', spec.file);
}

/**
 * Reads the `test_images` / `test_labels` arrays.
 *
 * @throws when the file lacks them, they are not uint8, or the images are neither grey nor RGB
 */
export async function readMedmnist(dataDir: string, spec: MedmnistTestSet): Promise<LabelledImages> {
  const npz = await readNpz(medmnistPath(dataDir, spec));
  const x = npz.get('test_images');
  const y = npz.get('test_labels');
  if (x === undefined || y === undefined || !(x.data instanceof Uint8Array) || !(y.data instanceof Uint8Array)) {
    throw new Error(`${spec.file}: test_images / test_labels (uint8) not found`);
  }
  const [n = 0, h = 0, w = 0, c = 1] = x.shape;
  if (c !== 1 && c !== 3) throw new Error(`${spec.file}: ${c} channels`);
  if (y.data.length !== n) throw new Error(`${spec.file}: ${n} test images but ${y.data.length} labels`);
  const per = h * w * c;
  const images: InputImage[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Float32Array(per);
    for (let k = 0; k < per; k++) data[k] = (x.data[i * per + k] as number) / 255;
    images.push({ width: w, height: h, channels: c, data });
  }
  const positive = new Set(spec.positiveLabels);
  const labels = Uint8Array.from(y.data, (v) => (positive.has(v) ? 1 : 0));
  return { description: `${spec.file} test split (n=${n}), positive = label ${spec.positiveLabels.join(' or ')}`, images, labels };
}
