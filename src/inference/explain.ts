/**
 * Explainability for classifiers: occlusion saliency (Zeiler & Fergus 2014). A square patch of
 * the model input is replaced by the normalisation mean (0 after normalising), the model runs
 * again, and the patch is credited with the fall in the explained label's log-odds. Log-odds
 * rather than probability because a confident finding (p ≈ 1) barely moves in probability
 * when one patch is hidden, so its map would be empty. The map interpolates the patch values
 * bilinearly between patch centres, so it is smooth rather than blocky.
 *
 * Occlusion rather than gradients or CAM because onnxruntime gives no gradients and the model
 * folder must stay a plain .onnx file: any classifier can be explained without knowing its
 * layers. The cost is a fixed number of extra runs (about 13 × 13 = 169), batched.
 */
import type { Batcher } from './batcher.js';
import { AppError } from '../errors.js';
import type { ClassificationManifest, ManifestOutput } from './manifest.js';
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
 * The log-odds of one label, `log p − log(1 − p)`, straight from the logits so that it stays
 * finite where the probability rounds to 1: softmax gives z_k − logsumexp(z_j, j ≠ k), sigmoid z_k
 * (both after the temperature).
 *
 * @throws AppError INFERENCE_FAILED on a non-finite logit
 */
export function logOdds(output: Pick<ManifestOutput, 'activation' | 'temperature'>, logits: ArrayLike<number>, index: number): number {
  const z = Array.from({ length: logits.length }, (_, i) => (logits[i] as number) / output.temperature);
  if (z.some((v) => !Number.isFinite(v))) throw new AppError('INFERENCE_FAILED', 'The model produced a non-finite output.');
  const own = z[index] as number;
  if (output.activation === 'sigmoid') return own;
  const others = z.filter((_, i) => i !== index);
  const max = Math.max(...others);
  return own - (max + Math.log(others.reduce((sum, v) => sum + Math.exp(v - max), 0)));
}

/** For each pixel centre along an axis: the two patch centres around it and the weight of the second. */
function axisInterpolation(size: number, corners: readonly number[], patch: number): { lo: Int32Array; w: Float64Array } {
  const centres = corners.map((c) => c + patch / 2);
  const lo = new Int32Array(size);
  const w = new Float64Array(size);
  for (let p = 0; p < size; p++) {
    const x = p + 0.5;
    let j = 0;
    while (j + 1 < centres.length - 1 && (centres[j + 1] as number) <= x) j++;
    const a = centres[j] as number;
    const b = centres[Math.min(j + 1, centres.length - 1)] as number;
    lo[p] = j;
    // Clamped at the edges: outside the outermost centres the nearest patch value holds.
    w[p] = b === a ? 0 : Math.min(1, Math.max(0, (x - a) / (b - a)));
  }
  return { lo, w };
}

/**
 * Occlusion saliency of one label for one preprocessed image.
 *
 * @param target - the classifier's manifest and batcher
 * @param tensor - the preprocessed CHW input the finding came from
 * @param labelIndex - output index of the label to explain
 * @param baseLogits - the model's logits on the unoccluded input
 * @param chunk - occluded inputs submitted at a time: small enough to leave the batcher's
 *   queue room for other requests, large enough to fill its batches
 * @returns the map at the model's input resolution, scaled so its largest value is 1
 * @throws AppError INFERENCE_BUSY / INFERENCE_FAILED from the batcher
 */
export async function occlusionSaliency(target: ExplainTarget, tensor: Float32Array, labelIndex: number, baseLogits: ArrayLike<number>, chunk = 16): Promise<ImageMap> {
  const { width, height, channels } = target.manifest.input;
  const output = target.manifest.output;
  const plane = width * height;
  const grid = occlusionGrid(width, height);
  const corners = grid.ys.flatMap((y) => grid.xs.map((x) => [x, y] as const));
  const base = logOdds(output, baseLogits, labelIndex);
  // Fall in log-odds per patch, row-major over the grid (ys × xs).
  const falls = new Float64Array(corners.length);

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
    // Only falls count as evidence for the label; a rise means the patch argued against it.
    outputs.forEach((o, k) => (falls[from + k] = Math.max(0, base - logOdds(output, o.logits, labelIndex))));
  }

  const nx = grid.xs.length;
  const ix = axisInterpolation(width, grid.xs, grid.patch);
  const iy = axisInterpolation(height, grid.ys, grid.patch);
  const at = (row: number, col: number): number => falls[Math.min(row, grid.ys.length - 1) * nx + Math.min(col, nx - 1)] as number;
  const values = new Float32Array(plane);
  let max = 0;
  for (let y = 0; y < height; y++) {
    const r = iy.lo[y] as number;
    const wy = iy.w[y] as number;
    for (let x = 0; x < width; x++) {
      const c = ix.lo[x] as number;
      const wx = ix.w[x] as number;
      const top = (1 - wx) * at(r, c) + wx * at(r, c + 1);
      const bottom = (1 - wx) * at(r + 1, c) + wx * at(r + 1, c + 1);
      const v = (1 - wy) * top + wy * bottom;
      values[y * width + x] = v;
      max = Math.max(max, v);
    }
  }
  if (max > 0) for (let i = 0; i < plane; i++) values[i] = (values[i] as number) / max;
  const label = output.labels.find((l) => l.index === labelIndex);
  return {
    kind: 'saliency',
    method:
      `Occlusion saliency: ${grid.patch}×${grid.patch}-pixel patches of the ${width}×${height} model input, stride ${grid.stride}, replaced by the normalisation mean. ` +
      `Brightest where hiding the image lowered the ${label?.display.toLowerCase() ?? 'finding'} log-odds most (by ${max.toFixed(2)} at most). ` +
      'It shows what the model relied on, not a lesion outline.',
    width,
    height,
    values,
  };
}
