/**
 * The hooks on top of the job queue, with the real services, templates and in-process queue and
 * a fake analysis whose runs finish when the test says: the result hook answers within its budget
 * (in progress, ready, failed), and patient-view never waits for an analysis.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { FhirResource, ImagingStudy } from 'fhir/r4.js';
import type { StudyAnalysis } from '../../../src/analysis/types.js';
import type { AnalysisJob } from '../../../src/jobs/types.js';
import { validateCdsResponse } from '../../../src/cds-hooks/response-schema.js';
import { createCatalogue } from '../../../src/cds/catalogue.js';
import type { PrefetchResolver } from '../../../src/cds/prefetch.js';
import type { CdsService } from '../../../src/cds/service.js';
import type { ServiceDeps } from '../../../src/cds/services/deps.js';
import { AppError } from '../../../src/errors.js';
import { createInProcessJobQueue } from '../../../src/jobs/in-process.js';
import type { JobQueue } from '../../../src/jobs/types.js';
import { createLogger } from '../../../src/logging.js';
import { loadTemplates } from '../../../src/reports/engine.js';
import { IMAGINGSTUDY_AVAILABLE_HOOK } from '../../../src/terminology.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const templates = loadTemplates(path.resolve('templates'));
const log = createLogger('silent');

const study: ImagingStudy = {
  resourceType: 'ImagingStudy',
  id: 'st-1',
  status: 'available',
  subject: { reference: 'Patient/p1' },
  started: new Date(NOW.getTime() - 86_400_000).toISOString(),
  description: 'XR CHEST AP',
  identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.4' }],
  series: [{ uid: '1.2.3.4.1', modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'DX' }, instance: [{ uid: '1.2.3.4.1.1', sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.1.1' } }] }],
};

const resolver = (entries: FhirResource[]): PrefetchResolver => ({
  resource: () => Promise.resolve(undefined),
  entries: () => Promise.resolve(entries),
  read: () => Promise.reject(new AppError('DATA_UNAVAILABLE', 'not in this test')),
  sources: new Map(),
});

interface Harness {
  readonly services: Record<string, CdsService>;
  readonly jobs: JobQueue;
  readonly calls: string[];
  /** Ends the oldest running analysis with `outcome`. */
  finish(outcome: StudyAnalysis | AppError): void;
}

const harnesses: Harness[] = [];
const pending: { resolve: (a: StudyAnalysis) => void; reject: (e: unknown) => void }[] = [];

function harness(over: Partial<ServiceDeps> = {}): Harness {
  const calls: string[] = [];
  const jobs = createInProcessJobQueue({
    models: () => [{ id: 'm', version: '1' }],
    analyse: ({ study: s }: AnalysisJob) => {
      calls.push(s.studyInstanceUid);
      return new Promise<StudyAnalysis>((resolve, reject) => pending.push({ resolve, reject }));
    },
  });
  const list = createCatalogue({ jobs, hookBudgetMs: 0, templates, defaultDicomWebRoot: 'http://pacs/dicom-web', viewerUrl: undefined, recentStudyDays: 30, priorStudyLookbackDays: 365, maxStudiesPerCall: 3, now: () => NOW, ...over });
  const h: Harness = {
    services: Object.fromEntries(list.map((s) => [s.definition.id, s])),
    jobs,
    calls,
    finish(outcome) {
      const next = pending.shift();
      if (outcome instanceof AppError) next?.reject(outcome);
      else next?.resolve(outcome);
    },
  };
  harnesses.push(h);
  return h;
}

afterEach(async () => {
  for (const p of pending.splice(0)) p.resolve({ studyInstanceUid: 'x', results: [], skipped: [], fromCache: false });
  await Promise.all(harnesses.splice(0).map((h) => h.jobs.close()));
});

function service(h: Harness, id: string): CdsService {
  const found = h.services[id];
  if (found === undefined) throw new Error(`no service ${id}`);
  return found;
}

const resultHook = (h: Harness): ReturnType<CdsService['handle']> =>
  service(h, 'imaging-ai-result').handle({ hook: IMAGINGSTUDY_AVAILABLE_HOOK, hookInstance: randomUUID(), context: { patientId: 'p1', imagingStudyId: 'st-1' } }, { data: resolver([study]), log, domain: 'local' });

const noResults = (uid: string): StudyAnalysis => ({ studyInstanceUid: uid, results: [], skipped: [{ seriesUid: undefined, modelId: 'm', reason: 'no series fits' }], fromCache: false });

describe('hooks within their time budget', () => {
  it('the result hook answers an "AI analysis in progress" info card while the job runs, and the result once it is ready', async () => {
    const h = harness();
    const first = await resultHook(h);
    expect(validateCdsResponse(first)).toEqual([]);
    expect(first.cards).toHaveLength(1);
    expect(first.cards[0]).toMatchObject({ indicator: 'info', summary: 'AI analysis in progress (not a finding): results will follow', source: { label: 'Imaging AI' } });
    expect(first.cards[0]?.detail).toContain('XR CHEST AP');
    h.finish(noResults('1.2.3.4'));
    const key = (await h.jobs.submit({ study: { domain: 'local', studyInstanceUid: '1.2.3.4', series: [{ uid: '1.2.3.4.1', modality: 'DX', bodyPart: undefined, description: undefined, instanceUids: ['1.2.3.4.1.1'], dicomWebRoot: 'http://pacs/dicom-web' }] } })).key;
    expect((await h.jobs.wait(key, 600_000)).state).toBe('done');
    const second = await resultHook(h);
    expect(second.cards[0]?.summary).toMatch(/^Imaging AI did not analyse this study/);
    expect(h.calls).toEqual(['1.2.3.4']);
  });

  it('answers no card while running when in-progress cards are off', async () => {
    const h = harness({ inProgressCards: false });
    expect((await resultHook(h)).cards).toEqual([]);
  });

  it('answers a final failure as its error, to every later hook, without another run', async () => {
    const h = harness({ hookBudgetMs: 600_000 });
    const first = resultHook(h);
    await new Promise((resolve) => setImmediate(resolve));
    h.finish(new AppError('DICOM_UNSUPPORTED', 'transfer syntax 1.2.3 is not supported'));
    await expect(first).rejects.toMatchObject({ code: 'DICOM_UNSUPPORTED', status: 422 });
    await expect(resultHook(h)).rejects.toMatchObject({ code: 'DICOM_UNSUPPORTED' });
    expect(h.calls).toHaveLength(1);
  });

  it('patient-view never waits: it submits the analysis and shows only what is ready, even with a long budget', async () => {
    const h = harness({ hookBudgetMs: 600_000 });
    const res = await service(h, 'imaging-ai-patient-view').handle({ hook: 'patient-view', hookInstance: randomUUID(), context: { userId: 'Practitioner/1', patientId: 'p1' } }, { data: resolver([study]), log, domain: 'local' });
    expect(res.cards).toEqual([]);
    // The job was queued and runs on: a later hook finds it.
    expect(h.calls).toEqual(['1.2.3.4']);
  });
});
