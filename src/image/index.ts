/**
 * The image module's public surface: the image type every layer passes on, and its resize.
 */
export { resizeArea } from './resize.js';
export type { Image, WindowingSpec } from './types.js';
