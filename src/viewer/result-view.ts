/**
 * Turns a study's results Bundle (the DiagnosticReport, Observations and Device the result hook
 * rendered) into what the viewer page shows. It reads only the resources: the same view whether
 * the Bundle came from this process or from the shared store.
 */
import type { Attachment, Bundle, CodeableConcept, Device, DiagnosticReport, Observation } from 'fhir/r4.js';
import { ANALYSED_IMAGE_TITLE, PROJECT_CODES } from '../terminology.js';
import type { ViewerFinding, ViewerImage, ViewerMeasurement, ViewerResult, ViewerResults } from './api-types.js';
import type { CardLedger } from './card-ledger.js';

/** A model's card as the service loaded it: intended use and measured performance. */
export interface ModelCardInfo {
  readonly id: string;
  readonly version: string;
  readonly intendedUse: string;
  readonly performance: string;
}

export const PRELIMINARY_BANNER = 'Preliminary AI output, not a diagnosis: it requires confirmation by a qualified clinician.';

const hasCode = (cc: CodeableConcept | undefined, code: string): boolean => cc?.coding?.some((c) => c.code === code) ?? false;
const textOf = (cc: CodeableConcept | undefined): string | undefined => cc?.text ?? cc?.coding?.find((c) => c.display !== undefined)?.display;

function componentValue(o: Observation, code: string): number | undefined {
  return o.component?.find((c) => hasCode(c.code, code))?.valueQuantity?.value;
}

/** The Device's property for this finding, e.g. "Review band lower bound: Pneumonia". */
function deviceValue(device: Device | undefined, code: string, finding: string): number | undefined {
  const p = device?.property?.find((x) => hasCode(x.type, code) && (x.type.text === undefined || x.type.text.endsWith(`: ${finding}`)));
  return p?.valueQuantity?.[0]?.value;
}

function finding(o: Observation, device: Device | undefined): ViewerFinding {
  const display = textOf(o.code) ?? 'Finding';
  const low = deviceValue(device, PROJECT_CODES.aiReviewBandLow.code, display);
  const high = deviceValue(device, PROJECT_CODES.aiReviewBandHigh.code, display);
  return {
    display,
    probability: componentValue(o, PROJECT_CODES.aiProbability.code),
    threshold: componentValue(o, PROJECT_CODES.aiThreshold.code) ?? deviceValue(device, PROJECT_CODES.aiThreshold.code, display),
    reviewBand: low === undefined || high === undefined ? undefined : [low, high],
    interpretation: textOf(o.interpretation?.[0]),
  };
}

function measurement(o: Observation): ViewerMeasurement | undefined {
  const q = o.valueQuantity;
  return q?.value === undefined ? undefined : { display: textOf(o.code) ?? 'Measurement', value: q.value, unit: q.unit ?? q.code ?? '' };
}

function png(a: Attachment): ViewerImage | undefined {
  return a.contentType === 'image/png' && a.data !== undefined ? { title: a.title ?? 'Image', pngBase64: a.data } : undefined;
}

function images(report: DiagnosticReport): Pick<ViewerResult, 'overlay' | 'displayImage'> {
  const forms = report.presentedForm ?? [];
  const display = forms.find((f) => f.title === ANALYSED_IMAGE_TITLE);
  const overlay = forms.find((f) => f !== display && f.contentType === 'image/png');
  const overlayImage = overlay === undefined ? undefined : png(overlay);
  return {
    overlay: overlayImage === undefined ? undefined : { ...overlayImage, kind: overlayImage.title.includes('segmentation') ? 'mask' : 'saliency' },
    displayImage: display === undefined ? undefined : png(display),
  };
}

const localId = (reference: string | undefined): string | undefined => reference?.replace(/^urn:uuid:/, '').split('/').at(-1);

/**
 * @param imagingStudyId - the study the Bundle is for
 * @param bundle - its results
 * @param ledger - the cards this process sent (for feedback and override reasons)
 * @param modelCards - the loaded models' cards, by `id|version`
 */
export function resultView(imagingStudyId: string, bundle: Bundle, ledger: CardLedger, modelCards: ReadonlyMap<string, ModelCardInfo>): ViewerResults {
  const resources = (bundle.entry ?? []).flatMap((e) => (e.resource === undefined ? [] : [e.resource]));
  const byId = new Map(resources.flatMap((r) => (r.id === undefined ? [] : [[r.id, r] as const])));
  const results = resources.filter((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport').map((report): ViewerResult => {
    const observations = (report.result ?? []).map((ref) => byId.get(localId(ref.reference) ?? '')).filter((r): r is Observation => r?.resourceType === 'Observation');
    const device = byId.get(localId(observations[0]?.device?.reference) ?? '') as Device | undefined;
    const id = device?.modelNumber ?? 'unknown model';
    const version = device?.version?.[0]?.value ?? '';
    const card = modelCards.get(`${id}|${version}`);
    const ledgerCard = ledger.byReport(report.id ?? '');
    return {
      reportId: report.id ?? '',
      status: report.status,
      issued: report.issued,
      conclusion: report.conclusion ?? '',
      model: { id, name: device?.deviceName?.find((n) => n.type === 'model-name')?.name ?? id, version, intendedUse: card?.intendedUse ?? device?.note?.[0]?.text, performance: card?.performance },
      findings: observations.filter((o) => o.valueQuantity === undefined).map((o) => finding(o, device)),
      measurements: observations.flatMap((o) => measurement(o) ?? []),
      ...images(report),
      feedback: ledgerCard !== undefined,
      overrideReasons: (ledgerCard?.overrideReasons ?? []).map((r) => ({ code: r.code, display: r.display ?? r.code })),
    };
  });
  return { imagingStudyId, banner: PRELIMINARY_BANNER, results };
}
