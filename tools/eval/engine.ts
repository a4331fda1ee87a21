/**
 * The inference engine every evaluation runs on: the service's own engine (preprocessing,
 * batcher, session, post-processing), one intra-op thread, short batch waits, and no saliency maps
 * (the numbers are the findings'; explanations would only cost time). Models named are loaded even
 * when their manifest ships them switched off.
 */
import { createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';

/**
 * Creates the engine for an evaluation.
 *
 * @param modelsDir - the models folder
 * @param modelIds - the models to load
 * @param batch - largest batch, and how many images one chunk of the evaluation submits at once
 */
export function evaluationEngine(modelsDir: string, modelIds: readonly string[], batch: { readonly maxBatch: number; readonly chunk: number }): Promise<InferenceEngine> {
  return createInferenceEngine({
    modelsDir,
    enabledModels: [...new Set(modelIds)],
    maxBatch: batch.maxBatch,
    maxWaitMs: 1,
    queueCapacity: batch.chunk * 2,
    intraOpNumThreads: 1,
    saliency: 'never',
  });
}
