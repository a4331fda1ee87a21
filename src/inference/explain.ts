/**
 * Explainability for classifiers: occlusion saliency (Zeiler & Fergus 2014). A square patch of
 * the model input is replaced by the normalisation mean (0 after normalising), the model runs
 * again, and every pixel the patch covered is credited with the fall in the explained label's
 * probability; each pixel's value is the mean over the patches covering it.
 *
 * Occlusion rather than gradients or CAM because onnxruntime gives no gradients and the model
 * folder must stay a plain .onnx file: any classifier can be explained without knowing its
 * layers. The cost is a fixed number of extra runs (about 13 × 13 = 169), batched.
 */
import type { Batcher } from './batcher.js';
import { probabilities } from './classify.js';
import type { ClassificationManifest } from './manifest.js';
import type { ImageMap } from './types.js';

/** Patch side and stride for a model input: about 7 patches across, half-overlapping. */
export interface OcclusionGrid {
  readonly patch: number;
  readonly stride: number;
  /** Top-left corners along x and along y. */
  readonly xs: readonly number[];
  readonly ys: readonly number[];
}

function starts(size: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let s = 0; s + patch <= size; s += stride) out.push(s);
  // The last patch ends exactly at the edge, so no border row or column goes untested.
  if (out[out.length - 1] !== size - patch) out.push(size - patch);
  return out;
}

/**
 * The occlusion grid for a `width × height` input.
 *
 * @param width - model input width
 * @param height - model input height
 */
export function occlusionGrid(width: number, height: number): OcclusionGrid {
  const patch = Math.max(1, Math.round(Math.min(width, height) / 7));
  const stride = Math.max(1, Math.round(patch / 2));
  return { patch, stride, xs: starts(width, patch, stride), ys: starts(height, patch, stride) };
}

/** What the explanation needs of a loaded classifier; plain enough to test with a fake batcher. */
export interface ExplainTarget {
  readonly manifest: ClassificationManifest;
  readonly batcher: Pick<Batcher<Float32Array, { readonly logits: Float32Array }>, 'submit'>;
}

/**
 * Occlusion saliency of one label for one preprocessed image.
 *
 * @param target - the classifier's manifest and batcher
 * @param tensor - the preprocessed CHW input the finding came from
 * @param labelIndex - output index of the label to explain
 * @param baseProbability - that label's probability on the unoccluded input
 * @param chunk - occluded inputs submitted at a time: small enough to leave the batcher's
 *   queue room for other requests, large enough to fill its batches
 * @returns the map at the model's input resolution, scaled so its largest value is 1
 * @throws AppError INFERENCE_BUSY / INFERENCE_FAILED from the batcher
 */
export async function occlusionSaliency(target: ExplainTarget, tensor: Float32Array, labelIndex: number, baseProbability: number, chunk = 16): Promise<ImageMap> {
  const { width, height, channels } = target.manifest.input;
  const plane = width * height;
  const grid = occlusionGrid(width, height);
  const corners = grid.ys.flatMap((y) => grid.xs.map((x) => [x, y] as const));
  const drop = new Float64Array(plane);
  const covered = new Float64Array(plane);

  for (let from = 0; from < corners.length; from += chunk) {
    const part = corners.slice(from, from + chunk);
    const inputs = part.map(([x0, y0]) => {
      const occluded = tensor.slice();
      for (let c = 0; c < channels; c++) {
        for (let y = y0; y < y0 + grid.patch; y++) occluded.fill(0, c * plane + y * width + x0, c * plane + y * width + x0 + grid.patch);
      }
      return occluded;
    });
    const outputs = await target.batcher.submit(inputs);
    outputs.forEach((o, k) => {
      const [x0, y0] = part[k] as readonly [number, number];
      const fall = baseProbability - (probabilities(target.manifest.output, o.logits)[labelIndex] as number);
      for (let y = y0; y < y0 + grid.patch; y++) {
        for (let x = x0; x < x0 + grid.patch; x++) {
          drop[y * width + x] = (drop[y * width + x] as number) + fall;
          covered[y * width + x] = (covered[y * width + x] as number) + 1;
        }
      }
    });
  }

  // Only falls count as evidence for the label; a rise means the patch argued against it.
  const values = new Float32Array(plane);
  let max = 0;
  for (let i = 0; i < plane; i++) {
    const v = Math.max(0, (drop[i] as number) / Math.max(1, covered[i] as number));
    values[i] = v;
    max = Math.max(max, v);
  }
  if (max > 0) for (let i = 0; i < plane; i++) values[i] = (values[i] as number) / max;
  const label = target.manifest.output.labels.find((l) => l.index === labelIndex);
  const points = (max * 100).toFixed(1);
  return {
    kind: 'saliency',
    method:
      `Occlusion saliency: ${grid.patch}×${grid.patch}-pixel patches of the ${width}×${height} model input, stride ${grid.stride}, replaced by the normalisation mean. ` +
      `Brightest where hiding the image lowered the ${label?.display.toLowerCase() ?? 'finding'} probability most (${points} percentage points at most). ` +
      'It shows what the model relied on, not a lesion outline.',
    width,
    height,
    values,
  };
}
