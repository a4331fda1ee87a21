/**
 * The reports layer's public surface.
 */
export { outsideUseText, renderInProgressCard, renderNotAnalysedCard, renderPriorFindingCard, renderRecentStudyCard } from './context-cards.js';
export type { OutsideUseReason } from './context-cards.js';
export { loadTemplates } from './engine.js';
export type { TemplateSet } from './engine.js';
export { basePng, labelOverlayPng, overlayPng } from './overlay.js';
export { renderResult } from './render.js';
export { resultBundle } from './result-bundle.js';
export { createResultIndex } from './result-index.js';
export { reportIdentifierOf } from './result-context.js';
export type { CardiacForReport, ModelForReport, PacsObjectsForReport, RenderedResult, ReportOverlay, SeriesForReport } from './types.js';
