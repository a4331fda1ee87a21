/**
 * Saliency maps off the answer path: a classifier's findings are stored (and can be answered)
 * first, and the map, about 170 model runs for the occlusion method, is made afterwards in the
 * same job and the result stored again with it. A map that cannot be made (inference queue
 * full) is never dropped silently: the result says why.
 */
import { isAppError } from '../errors.js';
import { analyseStudy, type AnalysisDeps, type DeferredMap } from './analyse-study.js';
import { buildOverlay } from './overlay.js';
import type { ModelStudyResult, StudyAnalysis, StudyToAnalyse } from './types.js';

/**
 * Analyses a study in two steps.
 *
 * @param deps - image source, model runner, cache
 * @param study - the study
 * @param onFindings - called with the findings before any map is made (the job stores them, so
 *   a hook waiting on the job answers without waiting for the maps); not called when no map is wanted
 * @returns the analysis with every map made (or its absence explained)
 */
export async function analyseStudyThenMaps(deps: AnalysisDeps, study: StudyToAnalyse, onFindings: (analysis: StudyAnalysis) => Promise<void>): Promise<StudyAnalysis> {
  const deferred: DeferredMap[] = [];
  const first = await analyseStudy(deps, study, deferred);
  if (deferred.length === 0) return first;
  await onFindings(first);
  const results = [...first.results];
  for (const d of deferred) {
    const at = results.findIndex((r) => r.model.id === d.modelId);
    const result = results[at];
    if (result === undefined) continue;
    try {
      const completed = await withMap(deps, d, result);
      await deps.cache.set(study, completed);
      results[at] = completed;
    } finally {
      await d.release();
    }
  }
  return { ...first, results };
}

async function withMap(deps: AnalysisDeps, d: DeferredMap, result: ModelStudyResult): Promise<ModelStudyResult> {
  const { overlayPending: _pending, ...rest } = result;
  try {
    const map = await deps.models.explain(d.modelId, d.image);
    return map === undefined ? rest : { ...rest, overlay: buildOverlay(d.image, map, d.subject) };
  } catch (err) {
    if (!isAppError(err)) throw err;
    return { ...rest, overlayUnavailable: `the saliency map could not be made (${err.code})` };
  }
}
