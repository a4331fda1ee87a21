/**
 * One image through one model, whatever its task: classification gives findings (and, when the
 * policy asks, an occlusion saliency map), segmentation gives measurements and a mask map.
 */
import { isAppError } from '../errors.js';
import { toFindings } from './classify.js';
import { occlusionSaliency } from './explain.js';
import { unfamiliarVerdict } from './ood.js';
import { preprocess } from './preprocess.js';
import type { LoadedModel } from './registry.js';
import { segmentationResult } from './segment.js';
import type { Finding, ImageMap, InferenceLog, ModelResult, UnfamiliarVerdict } from './types.js';
import type { Image } from '../image/index.js';

/**
 * When a classifier's result carries a saliency map. `flagged`: only when some finding is
 * positive or needs review (the cases a physician will look at), so a normal study costs one
 * run, not 170.
 */
export type SaliencyPolicy = 'never' | 'flagged' | 'always';

function wantsSaliency(policy: SaliencyPolicy, findings: readonly Finding[]): boolean {
  if (policy === 'never') return false;
  return policy === 'always' || findings.some((f) => f.interpretation === 'positive' || f.needsReview);
}

/** The finding to explain: the most probable one among those flagged (else the most probable). */
function findingToExplain(findings: readonly Finding[]): Finding | undefined {
  const flagged = findings.filter((f) => f.interpretation === 'positive' || f.needsReview);
  const pool = flagged.length > 0 ? flagged : findings;
  return pool.reduce<Finding | undefined>((best, f) => (best === undefined || f.probability > best.probability ? f : best), undefined);
}

/**
 * Runs one image.
 *
 * @param model - a loaded model
 * @param image - display-ready pixels in [0, 1], any size
 * @param saliency - when a classifier's result is explained
 * @param log - where a failed explanation is reported (the finding stands without it)
 * @param deferMap - leave the saliency map out and say it is wanted (`mapDeferred`): a worker
 *   stores the findings first and makes the map afterwards ({@link explainImage})
 * @throws AppError INFERENCE_BUSY, INFERENCE_FAILED, IMAGE_UNSUITABLE (segmentation without a
 *   field of view)
 */
export async function runImage(model: LoadedModel, image: Image, saliency: SaliencyPolicy, log: InferenceLog, deferMap = false): Promise<ModelResult> {
  const { manifest } = model;
  const tensor = preprocess(image, manifest.input);
  const [output] = await model.batcher.submit([tensor]);
  // submit returns one output per input; the guard satisfies noUncheckedIndexedAccess.
  if (output === undefined) throw new Error(`model ${manifest.id} returned no output`);

  if (manifest.task === 'segmentation') {
    const { measurements, map, classMaps } = segmentationResult(manifest, tensor, output.logits, image);
    return { model: model.description, findings: [], measurements, map, classMaps, inferenceMs: output.inferenceMs };
  }

  // The unfamiliar-image verdict goes on the result and on each finding (which every layer passes on).
  const unfamiliar: UnfamiliarVerdict | undefined =
    model.ood !== undefined && output.features !== undefined ? unfamiliarVerdict(model.ood, output.features) : undefined;
  const findings = toFindings(manifest.output, output.logits).map((f) => (unfamiliar === undefined ? f : { ...f, unfamiliar }));
  const verdict = unfamiliar === undefined ? {} : { unfamiliar };
  let map: ImageMap | undefined;
  const target = wantsSaliency(saliency, findings) ? findingToExplain(findings) : undefined;
  if (target !== undefined && deferMap) return { model: model.description, findings, measurements: [], mapDeferred: true, ...verdict, inferenceMs: output.inferenceMs };
  if (target !== undefined) {
    const label = manifest.output.labels.find((l) => l.key === target.key);
    try {
      if (label !== undefined) map = await occlusionSaliency({ manifest, batcher: model.batcher }, tensor, label.index, output.logits);
    } catch (err) {
      // An explanation is an extra: a busy queue must not cost the physician the finding.
      if (!isAppError(err)) throw err;
      log('warn', 'saliency map skipped', { modelId: manifest.id, code: err.code });
    }
  }
  return { model: model.description, findings, measurements: [], ...(map === undefined ? {} : { map }), ...verdict, inferenceMs: output.inferenceMs };
}

/**
 * The saliency map of a classifier's result on `image`, as {@link runImage} would have attached
 * it (same policy, same finding explained); undefined when the policy wants none.
 *
 * @throws AppError INFERENCE_BUSY, INFERENCE_FAILED
 */
export async function explainImage(model: LoadedModel, image: Image, saliency: SaliencyPolicy): Promise<ImageMap | undefined> {
  const { manifest } = model;
  if (manifest.task !== 'classification') return undefined;
  const tensor = preprocess(image, manifest.input);
  const [output] = await model.batcher.submit([tensor]);
  if (output === undefined) throw new Error(`model ${manifest.id} returned no output`);
  const findings = toFindings(manifest.output, output.logits);
  const target = wantsSaliency(saliency, findings) ? findingToExplain(findings) : undefined;
  const label = target === undefined ? undefined : manifest.output.labels.find((l) => l.key === target.key);
  return label === undefined ? undefined : occlusionSaliency({ manifest, batcher: model.batcher }, tensor, label.index, output.logits);
}
