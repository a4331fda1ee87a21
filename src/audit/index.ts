/**
 * The audit layer's public surface.
 */
export { openFeedbackStore } from './feedback-store.js';
export type { FeedbackStore } from './feedback-store.js';
