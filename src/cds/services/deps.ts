/**
 * What the CDS services need from the layers below, as plain functions and data.
 */
import type { JobQueue } from '../../jobs/index.js';
import type { ImagingOrderRule } from '../../fhir/index.js';
import type { Logger } from '../../logging.js';
import type { TemplateSet, RenderedResult } from '../../reports/index.js';

/** Whose results these are: a study of one patient, seen from one trust domain. */
export interface ResultOwner {
  readonly domain: string;
  readonly patientId: string;
  readonly imagingStudyId: string;
}

/**
 * Where the result hook hands its rendered results after answering: the results index for
 * GET /results/… and, when configured, background write-back. Must return at once and never
 * throw (it runs on the answer's path). `complete` is false while a saliency map is still being
 * made: such results are shown but not written back (write-back creates each resource once, so
 * it waits for the complete result, which the hook hands over again when it is ready).
 */
export type ResultSink = (owner: ResultOwner, results: readonly RenderedResult[], log: Logger, complete: boolean) => void;

export interface ServiceDeps {
  /** Analysis jobs: submitted by every hook, keyed so that a study is analysed once. */
  readonly jobs: JobQueue;
  /** How long the result hook waits for its job; patient-view and the order hooks never wait. */
  readonly hookBudgetMs: number;
  /** The result hook answers an "AI analysis in progress" card when its job is still running (default true). */
  readonly inProgressCards?: boolean | undefined;
  readonly templates: TemplateSet;
  readonly defaultDicomWebRoot: string | undefined;
  readonly viewerUrl: string | undefined;
  /** A SMART app launched with the study in appContext, when configured. */
  readonly smartViewer?: { readonly url: string; readonly label: string } | undefined;
  /** Receives the result hook's rendered results; undefined when nothing listens. */
  readonly resultSink?: ResultSink | undefined;
  /** A prior study this recent, of the same body region, is "a very recent equivalent study". */
  readonly recentStudyDays: number;
  /** How far back order hooks look for prior relevant studies. */
  readonly priorStudyLookbackDays: number;
  /** Which draft orders are imaging orders, beyond the built-in categories and code systems. */
  readonly imagingOrders?: ImagingOrderRule | undefined;
  /** The result hook answers an info card when no model analysed the study (default true). */
  readonly notAnalysedCards?: boolean | undefined;
  /**
   * Called once per answer for each model left out because the study is outside its validated
   * use, with the model id and the rule's stable code (e.g. for a counter); never the patient's data.
   */
  readonly onOutsideUse?: ((modelId: string, code: string) => void) | undefined;
  /**
   * How long, after answering with findings whose saliency map is still being made, the result
   * hook waits in the background for the map, then hands the completed results to `resultSink`
   * (the results endpoint and write-back get the map). Default 10 minutes.
   */
  readonly mapFollowUpMs?: number | undefined;
  /** How many studies patient-view and order hooks analyse at most per call. */
  readonly maxStudiesPerCall: number;
  readonly now: () => Date;
}
