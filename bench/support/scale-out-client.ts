/**
 * What the scale-out bench sends, and how it reads the answers:
 *   - studies: re-identified copies of the sample chest radiographs (test/fixtures/cxr) stored in
 *     the bench's PACS, each with new Study, Series and SOP Instance UIDs and a Patient's Birth
 *     Date that makes the child 3 years old at the study (the chest models refuse unknown ages),
 *     so that a PACS-triggered job, which knows only the image, may analyse it;
 *   - the PACS trigger a PACS sends when a study is stable: `{ "StudyInstanceUID": … }` with its
 *     bearer secret;
 *   - the result hook as an EHR sends it with full prefetch: the ImagingStudy and its Endpoint as
 *     a searchset, and the Patient with the same birth date, so the front reads no FHIR server.
 * Every call is timed at the client, from before the request to the last byte of the answer.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Patient } from 'fhir/r4.js';
import { PROJECT_ROOT } from '../../src/config.js';
import { parseDicom } from '../../src/dicom/index.js';
import { resultHookRequest, sampleImagingStudy, wadoRsEndpoint } from '../../src/cli/index.js';
import { newUid, type BenchPacs } from './pacs.js';

export const HOOK_PATH = '/cds-services/imaging-ai-result';
export const TRIGGER_PATH = '/triggers/pacs/stable-study';
const PATIENT_ID = 'bench-child';
/** The samples' StudyDate is 2000-01-01: born 1996-06-01, the patient is 3 at every study. */
const BIRTH_DATE_DICOM = '19960601';
const BIRTH_DATE_FHIR = '1996-06-01';
const STUDY_STARTED = '2000-01-01T09:00:00Z';
/** The sample sources, one after another: two pneumonia radiographs and two normal ones (8-bit MONOCHROME2). */
export const SOURCE_FILES = [
  'pneumonia-person100_bacteria_475-mono2-8bit.dcm',
  'normal-IM-0001-0001-mono2-8bit.dcm',
  'pneumonia-person10_virus_35-mono2-8bit.dcm',
  'normal-IM-0003-0001-mono2-8bit.dcm',
] as const;

export interface BenchStudy {
  readonly id: string;
  readonly studyInstanceUid: string;
  readonly source: string;
  /** A result hook request body with a fresh hookInstance. */
  hookBody(): string;
}

/**
 * Stores `count` distinct studies in the PACS, copies of the sample sources in turn.
 *
 * @param fhirServer - the allow-listed FHIR base named in each hook (never read: all is prefetched)
 */
export async function prepareStudies(pacs: BenchPacs, count: number, fhirServer: string): Promise<BenchStudy[]> {
  const fixtures = path.join(PROJECT_ROOT, 'test', 'fixtures', 'cxr');
  const sources: { file: string; id: string }[] = [];
  for (const file of SOURCE_FILES) sources.push({ file, id: await pacs.store(readFileSync(path.join(fixtures, file))) });
  const endpoint = wadoRsEndpoint('bench-pacs', pacs.dicomWebRoot);
  const patient: Patient = { resourceType: 'Patient', id: PATIENT_ID, birthDate: BIRTH_DATE_FHIR };
  const studies: BenchStudy[] = [];
  for (let i = 0; i < count; i++) {
    const source = sources[i % sources.length];
    if (source === undefined) throw new Error('no sample source');
    const bytes = await pacs.modified(source.id, { StudyInstanceUID: newUid(), SeriesInstanceUID: newUid(), SOPInstanceUID: newUid(), PatientBirthDate: BIRTH_DATE_DICOM });
    await pacs.store(bytes);
    const info = parseDicom(bytes).info;
    const id = `scale-${String(i + 1).padStart(3, '0')}`;
    const imagingStudy = sampleImagingStudy(info, { id, patientId: PATIENT_ID, endpointId: endpoint.id ?? 'bench-pacs', started: STUDY_STARTED, description: 'XR CHEST AP' });
    const request = resultHookRequest(imagingStudy, endpoint, patient);
    studies.push({
      id,
      studyInstanceUid: info.studyInstanceUid,
      source: source.file,
      hookBody: () => JSON.stringify({ ...request, hookInstance: randomUUID(), fhirServer }),
    });
  }
  return studies;
}

/** How a 200 answer of the result hook reads. */
export type HookKind = 'result' | 'in-progress';

export interface HookAnswer {
  readonly ms: number;
  readonly kind: HookKind;
  /** A model's finding other than negative (only for `result`). */
  readonly positive: boolean;
}

interface Card {
  summary?: string;
  suggestions?: { actions?: { resource?: { resourceType?: string; interpretation?: { coding?: { code?: string }[] }[] } }[] }[];
}

/** Reads an answer: a model's result card (it suggests an Observation), or the in-progress card; anything else throws. */
function kindOf(status: number, text: string, what: string): { kind: HookKind; positive: boolean } {
  if (status !== 200) throw new Error(`${what}: answered ${status}: ${text.slice(0, 400)}`);
  const cards = (JSON.parse(text) as { cards?: Card[] }).cards ?? [];
  const observations = cards
    .flatMap((c) => c.suggestions ?? [])
    .flatMap((s) => s.actions ?? [])
    .map((a) => a.resource)
    .filter((r) => r?.resourceType === 'Observation');
  if (observations.length > 0) {
    const codes = observations.flatMap((o) => o?.interpretation ?? []).flatMap((i) => i.coding ?? []).map((c) => c.code);
    return { kind: 'result', positive: codes.some((c) => c !== undefined && c !== 'NEG') };
  }
  if (cards.some((c) => /in progress/i.test(c.summary ?? ''))) return { kind: 'in-progress', positive: false };
  throw new Error(`${what}: neither a model's result nor "in progress": ${text.slice(0, 600)}`);
}

/** One result hook call to a front. */
export async function callHook(frontUrl: string, study: BenchStudy): Promise<HookAnswer> {
  const body = study.hookBody();
  const t0 = performance.now();
  const res = await fetch(`${frontUrl}${HOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  const ms = performance.now() - t0;
  return { ms, ...kindOf(res.status, text, `hook ${study.id}`) };
}

/** One PACS trigger to a front; the time to its 202. */
export async function callTrigger(frontUrl: string, secret: string, study: BenchStudy): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${frontUrl}${TRIGGER_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ StudyInstanceUID: study.studyInstanceUid }),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 202) throw new Error(`trigger ${study.id}: answered ${res.status}: ${text.slice(0, 400)}`);
  return ms;
}
