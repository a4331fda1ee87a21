/**
 * What the CDS services need from the layers below, as plain functions and data.
 */
import type { StudyAnalysis, StudyToAnalyse } from '../../analysis/types.js';
import type { TemplateSet } from '../../reports/engine.js';

export interface ServiceDeps {
  /** The analysis use case (cache included). */
  readonly analyse: (study: StudyToAnalyse) => Promise<StudyAnalysis>;
  readonly templates: TemplateSet;
  readonly defaultDicomWebRoot: string | undefined;
  readonly viewerUrl: string | undefined;
  /** A prior study this recent, of the same body region, is "a very recent equivalent study". */
  readonly recentStudyDays: number;
  /** How far back order hooks look for prior relevant studies. */
  readonly priorStudyLookbackDays: number;
  /** How many studies patient-view and order hooks analyse at most per call. */
  readonly maxStudiesPerCall: number;
  readonly now: () => Date;
}
