/**
 * Classification: a classifier's logits → calibrated probabilities → findings, as
 * models/MANIFEST.md defines. Running the model is run-image.ts's job.
 */
import { AppError } from '../errors.js';
import type { ManifestOutput } from './manifest.js';
import type { Finding } from './types.js';

/**
 * Probabilities per output index: `activation(logits / temperature)`.
 *
 * Computed in float64; softmax subtracts the largest logit first so large logits cannot
 * overflow, and sigmoid uses the form that stays finite for either sign.
 *
 * @param output - the manifest's output section
 * @param logits - one image's logits, one per label index
 * @throws AppError INFERENCE_FAILED when the model produced a non-finite logit
 */
export function probabilities(output: Pick<ManifestOutput, 'activation' | 'temperature'>, logits: ArrayLike<number>): Float64Array {
  const n = logits.length;
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (!Number.isFinite(v)) throw new AppError('INFERENCE_FAILED', 'The model produced a non-finite output.');
    z[i] = v / output.temperature;
  }
  if (output.activation === 'sigmoid') {
    return z.map((x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))));
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const x of z) max = Math.max(max, x);
  let sum = 0;
  const e = z.map((x) => {
    const v = Math.exp(x - max);
    sum += v;
    return v;
  });
  return e.map((v) => v / sum);
}

/**
 * Findings for the labels the manifest reports, in label-index order.
 *
 * @param output - the manifest's output section
 * @param logits - one image's logits
 */
export function toFindings(output: ManifestOutput, logits: ArrayLike<number>): Finding[] {
  const p = probabilities(output, logits);
  const findings: Finding[] = [];
  const reported = [...output.labels].sort((a, b) => a.index - b.index);
  for (const label of reported) {
    if (!label.report) continue;
    const probability = p[label.index] as number;
    const [low, high] = label.reviewBand;
    const positive = probability >= label.threshold;
    const needsReview = probability >= low && probability <= high;
    const follow = label.followUp;
    const wantsFollowUp = follow !== undefined && ((positive && !needsReview) || (follow.when === 'positive-or-review' && needsReview));
    findings.push({
      key: label.key,
      display: label.display,
      codes: label.codes,
      probability,
      threshold: label.threshold,
      reviewBand: label.reviewBand,
      interpretation: positive ? 'positive' : 'negative',
      // Inclusive on both ends, as the manifest format says.
      needsReview,
      urgency: label.urgency,
      ...(wantsFollowUp ? { followUp: { code: follow.code, text: follow.text } } : {}),
    });
  }
  return findings;
}
