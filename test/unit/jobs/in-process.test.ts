/**
 * The embedded job queue with a fake analysis (the real one runs against Orthanc and ORT in the
 * integration suites): idempotence by key, the wait budget, final failures against retried
 * transient ones, and shedding when full.
 */
import type { StudyAnalysis, StudyToAnalyse } from '../../../src/analysis/types.js';
import { AppError } from '../../../src/errors.js';
import { createInProcessJobQueue, type InProcessQueueOptions } from '../../../src/jobs/in-process.js';
import { jobKey } from '../../../src/jobs/key.js';
import type { JobMetrics, JobQueue } from '../../../src/jobs/types.js';

const study = (uid: string, over: Partial<StudyToAnalyse> = {}): StudyToAnalyse => ({
  domain: 'local',
  studyInstanceUid: uid,
  series: [{ uid: `${uid}.1`, modality: 'DX', bodyPart: 'CHEST', description: undefined, instanceUids: [], dicomWebRoot: 'http://pacs/dicom-web' }],
  ...over,
});

const analysisOf = (s: StudyToAnalyse): StudyAnalysis => ({ studyInstanceUid: s.studyInstanceUid, results: [], skipped: [], fromCache: false });

interface Gate {
  readonly open: () => void;
  readonly fail: (err: Error) => void;
}

/** A fake analysis whose runs finish only when the test opens their gate. */
function gatedAnalysis(): { analyse: InProcessQueueOptions['analyse']; calls: string[]; gates: Gate[]; running: () => number } {
  const calls: string[] = [];
  const gates: Gate[] = [];
  openGates.push(gates);
  let running = 0;
  return {
    calls,
    gates,
    running: () => running,
    analyse: ({ study: s }) => {
      calls.push(s.studyInstanceUid);
      running += 1;
      return new Promise<StudyAnalysis>((resolve, reject) => {
        let ended = false;
        const end = (): boolean => {
          if (ended) return false;
          ended = true;
          running -= 1;
          return true;
        };
        gates.push({
          open: () => {
            if (end()) resolve(analysisOf(s));
          },
          fail: (err) => {
            if (end()) reject(err);
          },
        });
      });
    },
  };
}

interface Recorded {
  readonly calls: Record<keyof JobMetrics, unknown[][]>;
  readonly metrics: JobMetrics;
}

/** Metrics that remember every call. */
function recordingMetrics(): Recorded {
  const calls: Record<keyof JobMetrics, unknown[][]> = { depth: [], waited: [], ran: [], served: [], shed: [] };
  return {
    calls,
    metrics: {
      depth: (...a) => void calls.depth.push(a),
      waited: (...a) => void calls.waited.push(a),
      ran: (...a) => void calls.ran.push(a),
      served: (...a) => void calls.served.push(a),
      shed: (...a) => void calls.shed.push(a),
    },
  };
}

const models = (): { id: string; version: string }[] => [{ id: 'pneumonia-cxr-28', version: '1.0.0' }];
const queues: JobQueue[] = [];
const openGates: Gate[][] = [];
function queue(options: Omit<InProcessQueueOptions, 'models'> & Partial<Pick<InProcessQueueOptions, 'models'>>): JobQueue {
  const q = createInProcessJobQueue({ models, ...options });
  queues.push(q);
  return q;
}
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(async () => {
  // Running jobs finish before close() returns: let every fake run end.
  for (const gates of openGates.splice(0)) for (const g of gates) g.open();
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

describe('job keys', () => {
  it('differ by trust domain, data source, StudyInstanceUID and model version, and by nothing else', () => {
    const base = jobKey({ study: study('1.2.3') }, models());
    expect(jobKey({ study: study('1.2.3') }, models())).toBe(base);
    expect(jobKey({ study: study('1.2.3', { domain: 'iss|tenant' }) }, models())).not.toBe(base);
    expect(jobKey({ study: study('1.2.4') }, models())).not.toBe(base);
    expect(jobKey({ study: study('1.2.3', { series: [{ uid: '1.2.3.1', modality: 'DX', bodyPart: 'CHEST', description: undefined, instanceUids: [], dicomWebRoot: 'http://other-pacs/dicom-web' }] }) }, models())).not.toBe(base);
    expect(jobKey({ study: study('1.2.3') }, [{ id: 'pneumonia-cxr-28', version: '1.0.1' }])).not.toBe(base);
    // The EHR's birth date decides the age rules: another (or none) is another job.
    expect(jobKey({ study: study('1.2.3', { patientBirthDate: '2020-01-01' }) }, models())).not.toBe(base);
    // The order of the models and of the series' roots does not matter; the key names no UID in clear.
    expect(jobKey({ study: study('1.2.3') }, [...models(), { id: 'b', version: '1' }])).toBe(jobKey({ study: study('1.2.3') }, [{ id: 'b', version: '1' }, ...models()]));
    // A PACS trigger's job (series read from its root) is keyed by that root: another PACS is another job.
    const fromPacs = (root: string): string => jobKey({ study: study('1.2.3', { series: [] }), pacsRoot: root }, models());
    expect(fromPacs('http://pacs-a/dicom-web')).toBe(fromPacs('http://pacs-a/dicom-web'));
    expect(fromPacs('http://pacs-a/dicom-web')).not.toBe(fromPacs('http://pacs-b/dicom-web'));
    expect(base).toMatch(/^sa-[0-9a-f]{64}$/);
  });
});

describe('the in-process job queue', () => {
  it('analyses a study once however many callers submit it, while running and after', async () => {
    const fake = gatedAnalysis();
    const q = queue({ analyse: fake.analyse });
    const tickets = await Promise.all([q.submit({ study: study('1.2.3') }), q.submit({ study: study('1.2.3') }), q.submit({ study: study('1.2.3') })]);
    expect(new Set(tickets.map((t) => t.key)).size).toBe(1);
    expect(tickets.map((t) => t.queued)).toEqual([true, false, false]);
    await tick();
    fake.gates[0]?.open();
    const key = tickets[0].key;
    expect((await q.wait(key, 60_000)).state).toBe('done');
    expect((await q.submit({ study: study('1.2.3') })).queued).toBe(false);
    expect(fake.calls).toEqual(['1.2.3']);
    // Another domain is another job.
    await q.submit({ study: study('1.2.3', { domain: 'other' }) });
    expect(fake.calls).toEqual(['1.2.3', '1.2.3']);
  });

  it('answers pending when the budget runs out, and the job goes on to be found ready later', async () => {
    const fake = gatedAnalysis();
    const { calls, metrics } = recordingMetrics();
    const q = queue({ analyse: fake.analyse, metrics });
    const { key } = await q.submit({ study: study('1.2.3') });
    expect(await q.wait(key, 0)).toEqual({ state: 'pending' });
    expect(await q.wait(key, 5)).toEqual({ state: 'pending' });
    fake.gates[0]?.open();
    await tick();
    const outcome = await q.wait(key, 0);
    expect(outcome).toEqual({ state: 'done', analysis: analysisOf(study('1.2.3')) });
    expect(calls.served).toEqual([['in-progress'], ['in-progress'], ['ready']]);
    expect(calls.ran).toEqual([[expect.any(Number), 'done']]);
  });

  it('returns as soon as the job finishes within the budget', async () => {
    const fake = gatedAnalysis();
    const q = queue({ analyse: fake.analyse });
    const { key } = await q.submit({ study: study('1.2.3') });
    const waiting = q.wait(key, 600_000);
    await tick();
    fake.gates[0]?.open();
    // Would time the test out if the wait did not end with the job.
    expect((await waiting).state).toBe('done');
  });

  it('stores a failure that will not change as final: never retried, the same answer to every later submit', async () => {
    const calls: string[] = [];
    const q = queue({
      retryDelayMs: 1,
      analyse: ({ study: s }) => {
        calls.push(s.studyInstanceUid);
        return Promise.reject(new AppError('DICOM_INVALID', 'the image declares more pixels than it carries'));
      },
    });
    const { key } = await q.submit({ study: study('1.2.3') });
    expect(await q.wait(key, 60_000)).toEqual({ state: 'failed', code: 'DICOM_INVALID', reason: 'the image declares more pixels than it carries', transient: false });
    expect((await q.submit({ study: study('1.2.3') })).queued).toBe(false);
    expect((await q.wait(key, 0)).state).toBe('failed');
    expect(calls).toEqual(['1.2.3']);
  });

  it('stores a bug as INTERNAL without its message, and does not retry it', async () => {
    let calls = 0;
    const q = queue({
      retryDelayMs: 1,
      analyse: () => {
        calls += 1;
        return Promise.reject(new TypeError('x is undefined at /secret/path'));
      },
    });
    const { key } = await q.submit({ study: study('1.2.3') });
    expect(await q.wait(key, 60_000)).toEqual({ state: 'failed', code: 'INTERNAL', reason: 'the analysis failed unexpectedly', transient: false });
    expect(calls).toBe(1);
  });

  it('retries a transient failure with backoff and succeeds', async () => {
    let calls = 0;
    const recorded = recordingMetrics();
    const metrics = recorded.metrics;
    const q = queue({
      retries: 3,
      retryDelayMs: 1,
      metrics,
      analyse: ({ study: s }) => {
        calls += 1;
        return calls <= 2 ? Promise.reject(new AppError('UPSTREAM_FAILED', 'PACS down')) : Promise.resolve(analysisOf(s));
      },
    });
    const { key } = await q.submit({ study: study('1.2.3') });
    expect((await q.wait(key, 60_000)).state).toBe('done');
    expect(calls).toBe(3);
    expect(recorded.calls.ran.map((c) => c[1])).toEqual(['retry', 'retry', 'done']);
    expect(recorded.calls.waited).toHaveLength(1);
  });

  it('gives up on a transient failure after the bounded retries, and tries again once that failure expired', async () => {
    let calls = 0;
    const q = queue({
      retries: 2,
      retryDelayMs: 1,
      transientFailureTtlMs: 20,
      analyse: () => {
        calls += 1;
        return Promise.reject(new AppError('INFERENCE_BUSY', 'inference queue full'));
      },
    });
    const { key } = await q.submit({ study: study('1.2.3') });
    expect(await q.wait(key, 60_000)).toEqual({ state: 'failed', code: 'INFERENCE_BUSY', reason: 'inference queue full', transient: true });
    expect(calls).toBe(3);
    expect((await q.submit({ study: study('1.2.3') })).queued).toBe(false);
    // Expiry is the cache's own clock: poll (bounded) until the failure is forgotten.
    let again = false;
    for (let i = 0; i < 200 && !again; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      again = (await q.submit({ study: study('1.2.3') })).queued;
    }
    expect(again).toBe(true);
  });

  it('sheds load when full: 503 INFERENCE_BUSY with Retry-After, and accepts again once a job finished', async () => {
    const fake = gatedAnalysis();
    const { calls, metrics } = recordingMetrics();
    const q = queue({ analyse: fake.analyse, concurrency: 1, capacity: 2, retryAfterSeconds: 7, metrics });
    const a = await q.submit({ study: study('1.1') });
    await q.submit({ study: study('1.2') });
    const refused = await q.submit({ study: study('1.3') }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'INFERENCE_BUSY', status: 503, retryAfterSeconds: 7 });
    expect(calls.shed).toHaveLength(1);
    // A job already accepted is not refused: it is the same job.
    expect((await q.submit({ study: study('1.2') })).queued).toBe(false);
    await tick();
    fake.gates[0]?.open();
    expect((await q.wait(a.key, 60_000)).state).toBe('done');
    expect((await q.submit({ study: study('1.3') })).queued).toBe(true);
    expect(calls.depth.map((c) => c[0])).toEqual([1, 2, 1, 2]);
  });

  it('runs at most `concurrency` analyses at once, in submission order', async () => {
    const fake = gatedAnalysis();
    const q = queue({ analyse: fake.analyse, concurrency: 2 });
    const tickets = [];
    for (const uid of ['1.1', '1.2', '1.3', '1.4']) tickets.push(await q.submit({ study: study(uid) }));
    await tick();
    expect(fake.calls).toEqual(['1.1', '1.2']);
    fake.gates[1]?.open();
    expect((await q.wait(tickets[1]?.key ?? '', 60_000)).state).toBe('done');
    await tick();
    expect(fake.calls).toEqual(['1.1', '1.2', '1.3']);
    expect(fake.running()).toBe(2);
  });

  it('runs a job a hook waits for (urgent) before background work, and moves a queued background job ahead when a hook asks for it', async () => {
    const fake = gatedAnalysis();
    const q = queue({ analyse: fake.analyse, concurrency: 1 });
    for (const uid of ['1.1', '1.2', '1.3']) await q.submit({ study: study(uid) });
    await q.submit({ study: study('2.1'), urgent: true });
    // A hook now asks for a study already queued as background work.
    expect((await q.submit({ study: study('1.3'), urgent: true })).queued).toBe(false);
    await q.submit({ study: study('2.2'), urgent: true });
    for (let i = 0; i < 5; i++) {
      await tick();
      fake.gates[i]?.open();
      await tick();
    }
    await tick();
    expect(fake.calls).toEqual(['1.1', '2.1', '1.3', '2.2', '1.2']);
  });

  it('says MODEL_UNAVAILABLE (503) when no model is loaded, instead of answering no finding', async () => {
    const q = queue({ analyse: () => Promise.reject(new Error('not called')), models: () => [] });
    await expect(q.submit({ study: study('1.2.3') })).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE', status: 503 });
  });
});
