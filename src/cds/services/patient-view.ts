/**
 * `patient-view`: when the chart opens, surface preliminary AI findings on the patient's
 * recent studies — only what calls for attention (positive or needing review), so the card
 * list stays short.
 */
import type { FhirResource, ImagingStudy } from 'fhir/r4.js';
import { contextSchemas, parseContext } from '../../cds-hooks/index.js';
import type { CdsService } from '../service.js';
import { readyAnalysis, isActionable, resultCard } from '../study-cards.js';
import { belongsToPatient, startedOf } from '../study-input.js';
import type { CdsCard } from '../../cds-hooks/index.js';
import type { ServiceDeps } from './deps.js';
import { PATIENT_PREFETCH, PRIOR_STUDIES_PREFETCH } from './order-imaging.js';

const DAY_MS = 86_400_000;

/** Creates the patient-view service. */
export function patientViewService(deps: ServiceDeps): CdsService {
  return {
    definition: {
      id: 'imaging-ai-patient-view',
      hook: 'patient-view',
      title: 'Imaging AI: findings on recent studies',
      description: "Shows preliminary AI findings that need attention on the patient's recent imaging studies. Decision support only, not a diagnosis.",
      prefetch: { recentStudies: PRIOR_STUDIES_PREFETCH, patient: PATIENT_PREFETCH },
    },
    async handle(request, handlerContext) {
      const { data, log } = handlerContext;
      const ctx = parseContext(contextSchemas['patient-view'], request.context);
      const entries: FhirResource[] = await data.entries('recentStudies');
      const now = deps.now().getTime();
      const recent = entries
        // Only this patient's studies, whatever else the prefetch or search returned.
        .filter((r): r is ImagingStudy => r.resourceType === 'ImagingStudy' && belongsToPatient(r, ctx.patientId))
        .map((study) => ({ study, started: startedOf(study) }))
        .filter((s) => s.started !== undefined && now - s.started.getTime() <= deps.recentStudyDays * DAY_MS)
        .sort((a, b) => (b.started?.getTime() ?? 0) - (a.started?.getTime() ?? 0))
        .slice(0, deps.maxStudiesPerCall);
      const cards: CdsCard[] = [];
      for (const { study } of recent) {
        const analysis = await readyAnalysis(deps, study, entries, handlerContext);
        for (const result of analysis?.results ?? []) {
          if (isActionable(result)) cards.push(resultCard(deps, study, result, { patientId: ctx.patientId, serviceRequestId: undefined }));
        }
      }
      log.info({ studies: recent.length, cards: cards.length }, 'chart checked');
      return { cards };
    },
  };
}
