/**
 * @deprecated The DRIVE reader lives in tools/eval/drive.ts; import from
 * `tools/eval/index.js`. Kept only for test/integration/fundus-hook.test.ts until it does.
 */
export { readMaskGif, readRgbTiff } from '../../tools/eval/drive.js';
