/**
 * `order-select` and `order-sign` for imaging ServiceRequests: before an imaging order is
 * chosen or signed, tell the physician about the patient's prior relevant studies — a very
 * recent equivalent study, and preliminary AI findings on earlier studies of the same region.
 */
import type { FhirResource, ImagingStudy, ServiceRequest } from 'fhir/r4.js';
import { bundleEntries, isImagingServiceRequest, seriesSummary } from '../../fhir/index.js';
import { renderPriorFindingCard, renderRecentStudyCard } from '../../reports/index.js';
import { contextSchemas, parseContext } from '../../cds-hooks/index.js';
import type { CdsService } from '../service.js';
import { readyAnalysis, isActionable } from '../study-cards.js';
import { belongsToPatient, bodyPartOf, startedOf } from '../study-input.js';
import type { CdsCard } from '../../cds-hooks/index.js';
import { CPT } from '../../terminology.js';
import { checkResource } from '../resource-shapes.js';
import type { ServiceDeps } from './deps.js';

export const PRIOR_STUDIES_PREFETCH = 'ImagingStudy?patient={{context.patientId}}&status=available&_sort=-started&_count=20&_include=ImagingStudy:endpoint';
/** The patient in context, for its birthDate (the models' age rules); unavailable means "age unknown", never an error. */
export const PATIENT_PREFETCH = 'Patient/{{context.patientId}}';

const DAY_MS = 86_400_000;

/**
 * The body region of a CPT radiology code, where the code range names one: 71010–71555 are the
 * chest (radiographs, CT, MR, MRA of the chest), 77046–77067 breast imaging (mammography, breast MR).
 */
function cptBodyRegion(code: string | undefined): string | undefined {
  if (code === undefined || !/^[0-9]{5}$/.test(code)) return undefined;
  const n = Number(code);
  if (n >= 71010 && n <= 71555) return 'CHEST';
  if (n >= 77046 && n <= 77067) return 'BREAST';
  return undefined;
}

/**
 * The body region an order is for: its bodySite (SNOMED CT, as DICOM CID 4031 maps body parts),
 * else the region its CPT code's range names, else its code's text naming a region we know. Text is used only for the region, never to
 * decide that something is an imaging order.
 */
export function orderRegion(sr: ServiceRequest): string | undefined {
  for (const site of sr.bodySite ?? []) {
    for (const c of site.coding ?? []) {
      const part = bodyPartOf({ system: c.system, code: c.code });
      if (part !== undefined) return part;
    }
  }
  const cptRegion = (sr.code?.coding ?? []).map((c) => (c.system === CPT ? cptBodyRegion(c.code) : undefined)).find((r) => r !== undefined);
  if (cptRegion !== undefined) return cptRegion;
  const text = [sr.code?.text, ...(sr.code?.coding ?? []).map((c) => c.display)].filter((t): t is string => t !== undefined).join(' ');
  if (/\b(chest|thorax|thoracic)\b/i.test(text)) return 'CHEST';
  if (/\b(breast|mammo\w*)\b/i.test(text)) return 'BREAST';
  return undefined;
}

function studyRegions(study: ImagingStudy): Set<string> {
  return new Set(seriesSummary(study).map((s) => bodyPartOf(s.bodySite)).filter((p): p is string => p !== undefined));
}

function orderService(deps: ServiceDeps, hook: 'order-select' | 'order-sign'): CdsService {
  return {
    definition: {
      id: `imaging-ai-${hook}`,
      hook,
      title: `Imaging AI: prior imaging for ${hook === 'order-sign' ? 'signed' : 'selected'} imaging orders`,
      description:
        'For imaging orders, shows a very recent study of the same body region and preliminary AI findings on the patient\'s prior relevant studies. Decision support only, not a diagnosis.',
      prefetch: { priorStudies: PRIOR_STUDIES_PREFETCH, patient: PATIENT_PREFETCH },
    },
    async handle(request, handlerContext) {
      const { data, log } = handlerContext;
      const ctx = hook === 'order-select' ? parseContext(contextSchemas['order-select'], request.context) : parseContext(contextSchemas['order-sign'], request.context);
      const selections = 'selections' in ctx ? new Set(ctx.selections as string[]) : undefined;
      const orders = bundleEntries(ctx.draftOrders as never, 'ServiceRequest').map((sr) => checkResource(sr, 'client', 'context.draftOrders')).filter(
        (sr) => isImagingServiceRequest(sr, deps.imagingOrders) && (selections === undefined || selections.has(`ServiceRequest/${sr.id ?? ''}`)),
      );
      const regions = new Set(orders.map(orderRegion).filter((r): r is string => r !== undefined));
      if (regions.size === 0) return { cards: [] };

      const entries: FhirResource[] = await data.entries('priorStudies');
      const now = deps.now().getTime();
      const priors = entries
        // Only this patient's studies, whatever else the prefetch or search returned.
        .filter((r): r is ImagingStudy => r.resourceType === 'ImagingStudy' && belongsToPatient(r, ctx.patientId))
        .map((study) => ({ study, started: startedOf(study), regions: studyRegions(study) }))
        .filter((p) => p.started !== undefined && now - p.started.getTime() <= deps.priorStudyLookbackDays * DAY_MS && [...p.regions].some((r) => regions.has(r)))
        .sort((a, b) => (b.started?.getTime() ?? 0) - (a.started?.getTime() ?? 0));

      const cards: CdsCard[] = [];
      const newest = priors[0];
      if (newest?.started !== undefined && now - newest.started.getTime() <= deps.recentStudyDays * DAY_MS) {
        const region = [...newest.regions].find((r) => regions.has(r)) ?? 'same region';
        const view = { studyInstanceUid: newest.study.id ?? '', description: newest.study.description, date: newest.study.started };
        cards.push(renderRecentStudyCard(deps.templates, view, region, Math.floor((now - newest.started.getTime()) / DAY_MS)));
      }
      for (const prior of priors.slice(0, deps.maxStudiesPerCall)) {
        const analysis = await readyAnalysis(deps, prior.study, entries, handlerContext);
        for (const result of analysis?.results ?? []) {
          // The prior-study card names findings: a cine series' cardiac measures have none to name.
          if (!isActionable(result) || result.cardiac !== undefined) continue;
          const findings = result.findings.filter((f) => f.interpretation === 'positive' || f.needsReview);
          const view = { studyInstanceUid: result.studyInstanceUid, description: prior.study.description, date: prior.study.started };
          cards.push(renderPriorFindingCard(deps.templates, view, result.model, findings, deps.viewerUrl));
        }
      }
      log.info({ orders: orders.length, priors: priors.length, cards: cards.length }, 'order checked');
      return { cards };
    },
  };
}

/** The `order-select` service. */
export const orderSelectService = (deps: ServiceDeps): CdsService => orderService(deps, 'order-select');
/** The `order-sign` service. */
export const orderSignService = (deps: ServiceDeps): CdsService => orderService(deps, 'order-sign');
