/**
 * The service catalogue: one list, from which discovery and routes are both built.
 */
import type { CdsService } from './service.js';
import type { ServiceDeps } from './services/deps.js';
import { imagingStudyAvailableService } from './services/imagingstudy-available.js';
import { orderSelectService, orderSignService } from './services/order-imaging.js';
import { patientViewService } from './services/patient-view.js';

export type { ServiceDeps };

/** All CDS services this deployment offers. */
export function createCatalogue(deps: ServiceDeps): CdsService[] {
  return [imagingStudyAvailableService(deps), orderSelectService(deps), orderSignService(deps), patientViewService(deps)];
}
