/**
 * Phase 2: a sample of DICOM mutations through the whole service. Each case's seed gets new
 * Study/Series/SOP Instance UIDs (written over the old ones, same length), is mutated, is
 * checked through the dicom API in a worker like phase 1, is stored in the real Orthanc, and
 * the result hook is called over HTTP with the study prefetched. The hook must answer 200
 * (cards) or 412/422 with an UPSTREAM_FAILED / DICOM_* / IMAGE_UNSUITABLE-like code; never
 * 5xx, never hang.
 */
import { randomUUID } from 'node:crypto';
import { dicomCase, recordLocal, type DicomCase } from './dicom-phase.js';
import type { DicomPool } from './dicom-pool.js';
import type { SeedFile, SeedGroup } from './dicom-seeds.js';
import { walkDicom } from './dicom-walk.js';
import type { RunningTarget } from './fuzz-stack.js';
import type { Random } from './random.js';
import { curlFor, sendRaw, type RawRequest, type RawResult } from './raw-http.js';
import type { Report } from './report.js';
import { ErrorLogs } from './request-phase.js';
import { RESULT_HOOK } from './request-templates.js';

export const DICOM_HTTP_STREAM = 3;
const UID_TAGS = new Set([0x0020000d, 0x0020000e, 0x00080018, 0x00020003]);

function uidsOf(bytes: Uint8Array): string[] {
  const found = new Set<string>();
  for (const e of walkDicom(bytes).elements) {
    if (!UID_TAGS.has(e.tag) || e.depth > 0 || e.length > 64) continue;
    const value = Buffer.from(bytes.subarray(e.valueOffset, e.valueOffset + e.length)).toString('latin1').replace(/[\0 ]+$/, '');
    if (value.length >= 4) found.add(value);
  }
  return [...found];
}

/** The seed with its UIDs replaced everywhere they occur by new ones of the same length. */
export function reidentify(seed: SeedFile, r: Random): Uint8Array {
  const out = Buffer.from(seed.bytes);
  for (const uid of uidsOf(seed.bytes)) {
    const chars = Array.from({ length: uid.length }, (_, i) => uid.charAt(i));
    let replaced = 0;
    for (let i = chars.length - 1; i >= 0 && replaced < 12; i--) {
      if (chars[i] !== '.') {
        chars[i] = String(r.between(1, 9));
        replaced++;
      }
    }
    const fresh = Buffer.from(chars.join(''), 'latin1');
    for (let at = out.indexOf(uid, 0, 'latin1'); at >= 0; at = out.indexOf(uid, at + fresh.byteLength, 'latin1')) fresh.copy(out, at);
  }
  return new Uint8Array(out);
}

interface Stored {
  readonly studyUid: string;
  readonly seriesUid: string;
  readonly sopUid: string;
}

async function orthancJson(t: RunningTarget, pathname: string): Promise<Record<string, unknown>> {
  const { orthanc } = t.stack;
  const res = await fetch(`${orthanc.baseUrl}${pathname}`, { headers: { authorization: `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}` } });
  if (!res.ok) throw new Error(`Orthanc ${pathname}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

function tag(o: Record<string, unknown>, name: string): string {
  const value = (o.MainDicomTags as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** Stores the file in Orthanc; a string says why it was not stored. */
async function store(t: RunningTarget, bytes: Uint8Array): Promise<Stored | string> {
  const { orthanc } = t.stack;
  const res = await fetch(`${orthanc.baseUrl}/instances`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`, 'content-type': 'application/dicom' },
    body: bytes,
  });
  if (!res.ok) return `Orthanc refused (${res.status})`;
  const up = (await res.json()) as { ID?: string; ParentSeries?: string; ParentStudy?: string; Status?: string };
  if (up.Status === 'AlreadyStored') return 'Orthanc: already stored';
  const [instance, series, study] = await Promise.all([orthancJson(t, `/instances/${up.ID ?? ''}`), orthancJson(t, `/series/${up.ParentSeries ?? ''}`), orthancJson(t, `/studies/${up.ParentStudy ?? ''}`)]);
  return { studyUid: tag(study, 'StudyInstanceUID'), seriesUid: tag(series, 'SeriesInstanceUID'), sopUid: tag(instance, 'SOPInstanceUID') };
}

function hookRequest(t: RunningTarget, index: number, s: Stored, modality: string): RawRequest {
  const id = `fz-dicom-${index}`;
  const patient = 'fz-patient';
  const study = {
    resourceType: 'ImagingStudy',
    id,
    status: 'available',
    subject: { reference: `Patient/${patient}` },
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${s.studyUid}` }],
    endpoint: [{ reference: `Endpoint/${t.data.endpoint.id ?? ''}` }],
    series: [{ uid: s.seriesUid, modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: modality }, instance: [{ uid: s.sopUid, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.7' } }] }],
  };
  const body = Buffer.from(JSON.stringify({
    hook: RESULT_HOOK,
    hookInstance: randomUUID(),
    context: { patientId: patient, imagingStudyId: id },
    prefetch: { imagingStudy: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: study, search: { mode: 'match' } }, { resource: t.data.endpoint, search: { mode: 'include' } }] } },
  }));
  const headers: [string, string][] = [['Host', `127.0.0.1:${t.port}`], ['Content-Type', 'application/json'], ['Content-Length', String(body.byteLength)], ['Connection', 'close'], ['X-Request-Id', `fz-dicom-${index}`]];
  return { method: 'POST', target: '/cds-services/imaging-ai-result', headers, body };
}

/** `200 AI result`, `200 not analysed`, or the status and the OperationOutcome's code. */
function httpKey(result: RawResult & { kind: 'response' }): string {
  const text = result.body.toString('utf8');
  if (result.status === 200) return /"suggestions"/.test(text) ? '200 AI result' : '200 not analysed';
  const code = /"diagnostics":"([A-Z_]+):/.exec(text)?.[1];
  return `${result.status} ${code ?? '(no code)'}`;
}

export interface DicomHttpOptions {
  readonly cases: number;
  readonly only: number | undefined;
  readonly groups: readonly SeedGroup[];
  readonly pool: DicomPool;
  /** Starts the service this phase uses alone (again, when its Orthanc dies). */
  readonly start: () => Promise<RunningTarget>;
  readonly timeoutMs: number;
  readonly report: Report;
  readonly progress: (line: string) => void;
}

interface Running {
  readonly target: RunningTarget;
  readonly logs: ErrorLogs;
}

/** @returns false when Orthanc died on this case (the caller restarts the stack) */
async function oneCase(o: DicomHttpOptions, { target, logs }: Running, c: DicomCase, modality: string): Promise<boolean> {
  const { report } = o;
  const local = await o.pool.run(c.mutated.bytes, c.options);
  recordLocal(report, c, local, 'dicom-http case', '--only-dicom-http');
  const stored = await store(target, c.mutated.bytes).catch((err: unknown) => `Orthanc error: ${err instanceof Error ? err.message : String(err)}`);
  if (typeof stored === 'string') {
    if (stored.startsWith('Orthanc error') && !(await target.orthancAlive())) {
      const file = report.save(`dicom-http-case-${c.index}-orthanc.dcm`, c.mutated.bytes);
      report.count('dicom-http', 'Orthanc died on upload (stack restarted)');
      report.note('Orthanc (third-party PACS) stopped answering after this upload', { where: `dicom-http case ${c.index}`, text: `${c.seed.name}; ${c.mutated.notes.join('; ')}; ${file}` });
      return false;
    }
    report.count('dicom-http', stored);
    return true;
  }
  const req = hookRequest(target, c.index, stored, modality);
  const result = await sendRaw(target.port, req, o.timeoutMs);
  const key = result.kind === 'response' ? httpKey(result) : result.kind === 'timeout' ? 'no answer (hang)' : 'closed without answer';
  report.count('dicom-http', key);
  report.count('dicom local → http', `${local.outcome} → ${key}`);
  const errors = logs.take(`fz-dicom-${c.index}`);
  const failed = result.kind !== 'response' ? (result.kind === 'timeout' ? 'hang' : 'dropped') : result.status >= 500 ? '5xx' : undefined;
  if (failed === undefined) return true;
  const file = report.save(`dicom-http-case-${c.index}.dcm`, c.mutated.bytes);
  const bodyFile = report.save(`dicom-http-case-${c.index}.hook.json`, req.body ?? '');
  report.fail({
    kind: failed,
    where: `dicom-http case ${c.index}`,
    title: `result hook answered ${key} for a mutation of ${c.seed.name} (series modality ${modality})`,
    detail: [`mutations: ${c.mutated.notes.join('; ')}`, `dicom API outcome of the same bytes: ${local.outcome}`, result.kind === 'response' ? `answer: ${result.body.toString('utf8').slice(0, 600)}` : '', ...errors.map((e) => `service log (${e.msg}):\n${e.text}`)].join('\n'),
    reproduce: [
      `node dist/tools/fuzz/run.js --seed ${report.seed} --only-dicom-http ${c.index}   (fresh stack: Orthanc, FHIR server, service)`,
      `curl -u <orthanc user>:<password> --data-binary @${file} <orthanc>/instances   then:`,
      `${curlFor(target.port, req, bodyFile) ?? ''}   (the unauthenticated service; the hook body names the UIDs Orthanc read)`,
    ],
  });
  return true;
}

export async function runDicomHttpPhase(o: DicomHttpOptions): Promise<void> {
  const t0 = Date.now();
  const indices = o.only === undefined ? Array.from({ length: o.cases }, (_, i) => i) : [o.only];
  let done = 0;
  const begin = async (): Promise<Running> => {
    const target = await o.start();
    return { target, logs: new ErrorLogs([target]) };
  };
  let running = await begin();
  // One at a time: analyses share the service's inference queue and Orthanc.
  for (const i of indices) {
    let modality = 'DX';
    const c = dicomCase(o.report.seed, DICOM_HTTP_STREAM, i, o.groups, (seed, r) => {
      modality = r.pick(['DX', 'DX', 'DX', 'DX', 'CR', 'CR', 'US', 'OP', 'MR']);
      return reidentify(seed, r);
    });
    if (!(await oneCase(o, running, c, modality))) {
      await running.target.close().catch(() => undefined);
      running = await begin();
    }
    done++;
    if (done % 100 === 0) o.progress(`dicom-http: ${done}/${indices.length} cases, ${(done / ((Date.now() - t0) / 1000)).toFixed(1)}/s`);
  }
  for (const e of running.logs.rest()) o.report.note('service error log not tied to a fuzz request', { where: e.requestId ?? 'no request id', text: `${e.msg}: ${e.text.split('\n').slice(0, 3).join(' / ')}` });
  await running.target.close();
  o.report.timings.set(`dicom-http (${indices.length} cases through Orthanc and the result hook, own stack)`, Date.now() - t0);
}
