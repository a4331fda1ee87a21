/**
 * Saliency maps off the answer path, through HTTP with a real Orthanc and FHIR server: the hook
 * answers a flagged study's findings without waiting for its occlusion map (about 170 model runs)
 * and says the map is still being made; the map is then attached to the stored result (the
 * results endpoint; write-back writes the result once, complete, with the map) and to the next
 * answer.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, DiagnosticReport } from 'fhir/r4.js';
import { validateCdsResponse } from '../../src/cds-hooks/response-schema.js';
import type { CdsCard, CdsResponse } from '../../src/cds-hooks/types.js';
import { EHR_TOKEN, FIXTURES, PATIENT_ID, sampleFiles, startStack, type Stack, resultHookBody } from '../support/stack.js';

/** A sample the model evaluation calls clearly positive: its result gets a saliency map. */
function positiveFile(): string {
  const expected = (JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { files: { file: string; interpretation: string; needsReview: boolean }[] }).files;
  const file = sampleFiles().find((f) => expected.some((e) => e.file === f && e.interpretation === 'positive' && !e.needsReview));
  if (file === undefined) throw new Error('the fixtures need a clearly positive sample');
  return file;
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    files: [positiveFile()],
    envFor: ({ fhirBaseUrl }) => ({ WRITEBACK_FHIR_SERVER: fhirBaseUrl, WRITEBACK_BEARER_TOKEN: EHR_TOKEN }),
  });
}, 120_000);

afterAll(async () => {
  await stack.stop();
});

const studyId = (): string => stack.samples[0]?.studyId ?? '';

async function card(): Promise<CdsCard> {
  const res = await request(stack.app).post('/cds-services/imaging-ai-result').send(resultHookBody(stack.fhir.baseUrl, studyId()));
  expect(res.status).toBe(200);
  expect(validateCdsResponse(res.body)).toEqual([]);
  const cards = (res.body as CdsResponse).cards;
  expect(cards).toHaveLength(1);
  return cards[0] as CdsCard;
}

const storedReport = async (): Promise<DiagnosticReport | undefined> => {
  const res = await request(stack.app).get(`/results/ImagingStudy/${studyId()}?patient=${PATIENT_ID}`);
  if (res.status !== 200) return undefined;
  return ((JSON.parse(res.text) as Bundle).entry ?? []).map((e) => e.resource).find((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport');
};
const hasMap = (report: DiagnosticReport | undefined): boolean => (report?.presentedForm ?? []).some((f) => f.contentType === 'image/png');

/** The DiagnosticReports written back to the FHIR server. */
async function writtenReports(): Promise<DiagnosticReport[]> {
  const res = await fetch(`${stack.fhir.baseUrl}/DiagnosticReport?_count=100`, { headers: { authorization: `Bearer ${EHR_TOKEN}` } });
  return ((await res.json()) as Bundle).entry?.map((e) => e.resource as DiagnosticReport) ?? [];
}

describe('saliency maps off the answer path', () => {
  it('answers the findings first, saying the map is being made; the stored result and the next answer carry the map', async () => {
    const first = await card();
    expect(first.summary).toMatch(/^Preliminary AI: possible pneumonia/);
    expect(first.detail).toContain('Saliency map: still being made');
    expect(first.detail).not.toContain('Attached to the report');
    // Asked again at once: still one background completion for this study and patient.
    await card();
    // The map is made in the background, then the stored result is replaced by one that has it.
    let report = await storedReport();
    while (!hasMap(report)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      report = await storedReport();
    }
    expect(report?.presentedForm?.find((f) => f.contentType === 'image/png')?.title).toMatch(/^AI saliency map \(occlusion\)/);
    const next = await card();
    expect(next.detail).toContain('Attached to the report: AI saliency map (occlusion)');
    expect(next.detail).not.toContain('still being made');
    expect(stack.logs.filter((l) => l.includes('stored results completed with their saliency maps'))).toHaveLength(1);
    // Written back once, complete: the first answer (without the map) was not written.
    await stack.deps.writeBack?.idle();
    const written = await writtenReports();
    expect(written).toHaveLength(1);
    expect(hasMap(written[0])).toBe(true);
  }, 120_000);
});
