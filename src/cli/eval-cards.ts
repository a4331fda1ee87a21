/**
 * @deprecated The model-card evaluation lives in tools/eval; import from
 * `tools/eval/index.js`. Kept only for test/integration/fundus-hook.test.ts until it does.
 */
export { defaultDataDir } from '../../tools/eval/data-dir.js';
