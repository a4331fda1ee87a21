/**
 * Scale-out: does adding worker processes raise the rate at which PACS-triggered studies are
 * analysed, and what do the result hook's callers see meanwhile?
 *
 * Every process is the built service as deployed (`npm run build`), configured by environment:
 * one redis-server, one Orthanc (DICOMweb) holding N distinct studies, 2 fronts
 * (`node dist/src/main.js` with REDIS_URL and the PACS trigger) and M workers
 * (`node dist/src/worker.js`, ORT_INTRA_OP_THREADS=1, JOB_CONCURRENCY=1, so M is the only
 * variable). The bench process is the PACS and the EHR. Rounds alternate M (1,2,4,4,2,1,…); each
 * round starts its fronts and workers afresh on a new REDIS_PREFIX, so nothing is cached from an
 * earlier round (Orthanc and the OS keep their caches: every study is retrieved once before the
 * first round).
 *
 * A round:
 *   1. run       t0; all N triggers POSTed, alternating between the fronts (each answered 202).
 *                Meanwhile, one result hook at a time (alternating fronts, 50 ms apart) on three
 *                studies a quarter into the queue; its "in progress" answers are split by
 *                whether that study's trigger job had certainly ended when the hook was sent.
 *                The run ends when the worker logs show every trigger job ended (the first N jobs
 *                to start: the trigger jobs were all queued before any hook's). studies/s =
 *                N / (end − t0). Those hooks add one job per study (a hook keys the series its
 *                ImagingStudy lists, the trigger only the UID), queued behind the triggers; it
 *                reuses the trigger's model result from the shared cache.
 *   2. first     one hook per study (alternating fronts): the first hook after the trigger, which
 *                waits for its own short job on a worker (cached model result, no model run).
 *   3. repeat    one more hook per study: answered from the stored outcome, no job.
 * Scaling ratio: studies/s with M workers over 1 worker within the same half-cycle (1,2,4 or
 * 4,2,1), median and range over half-cycles. Worker CPU and inference calls are the workers'
 * /metrics (process_cpu_seconds_total, inference_duration_seconds_count) over the run.
 *
 *   npm run bench:scale-out     (builds, provisions Redis and Orthanc if missing)
 *   env: BENCH_STUDIES (48), BENCH_WORKERS ("1,2,4"), BENCH_CYCLES (3: each cycle is the counts up
 *        and down), BENCH_WORKER_ENV / BENCH_FRONT_ENV (JSON objects of extra settings, e.g.
 *        '{"SALIENCY":"never"}'), BENCH_KEEP=1 (keep the temporary folder with every log)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatSpread, median, quantile, spread, table } from './stats.js';
import { onInterrupt, sleep, stopAll } from './support/processes.js';
import { startBenchPacs, type BenchPacs } from './support/pacs.js';
import { startBenchRedis, type BenchRedis } from './support/redis-server.js';
import { callHook, callTrigger, prepareStudies, SOURCE_FILES, type BenchStudy, type HookAnswer } from './support/scale-out-client.js';
import { JobLog } from './support/job-log.js';
import { metricSum, scrape, startFront, startWorker, type Front, type JobEvent, type Worker } from './support/service-processes.js';
import { machineLines } from './support/machine.js';

const STUDIES = Number(process.env['BENCH_STUDIES'] ?? 48);
const WORKER_COUNTS = (process.env['BENCH_WORKERS'] ?? '1,2,4').split(',').map(Number);
const CYCLES = Number(process.env['BENCH_CYCLES'] ?? 3);
const FRONTS = 2;
const PROBED = 3;
const PROBE_PAUSE_MS = 50;
const ROUND_TIMEOUT_MS = 300_000;
/** Allow-listed, never called: every hook carries its data as prefetch (port 9 is discard). */
const FHIR_SERVER = 'http://127.0.0.1:9/fhir';
const MODELS = 'pneumonia-cxr-224';
const extraEnv = (name: string): Record<string, string> => JSON.parse(process.env[name] ?? '{}') as Record<string, string>;

interface Context {
  readonly tmp: string;
  readonly redis: BenchRedis;
  readonly pacs: BenchPacs;
  readonly studies: readonly BenchStudy[];
  readonly secret: string;
}

interface Round {
  readonly index: number;
  /** Half-cycle: the rounds compared with one another. */
  readonly block: number;
  readonly workers: number;
  readonly seconds: number;
  readonly studiesPerS: number;
  readonly jobsDone: number;
  readonly jobsFailed: number;
  /** Jobs hooks had added by the end of the run (one per probed study). */
  readonly hookJobs: number;
  readonly modelRuns: number;
  readonly workerCpuS: number;
  readonly frontCpuS: number;
  readonly positives: number;
  readonly load1: number;
  readonly triggerMs: number[];
  readonly during: DuringRun;
  readonly firstMs: number[];
  readonly firstInProgress: number;
  readonly repeatMs: number[];
}

function roundOrder(): { workers: number; block: number }[] {
  const order: { workers: number; block: number }[] = [];
  for (let c = 0; c < CYCLES; c++) {
    for (const w of WORKER_COUNTS) order.push({ workers: w, block: 2 * c });
    for (const w of [...WORKER_COUNTS].reverse()) order.push({ workers: w, block: 2 * c + 1 });
  }
  return order;
}

/** The fronts and workers of one round, on their own REDIS_PREFIX. */
async function startProcesses(ctx: Context, index: number, workers: number, onJob: (e: JobEvent) => void, started: Set<{ stop(): Promise<void> }>): Promise<{ fronts: Front[]; workerList: Worker[] }> {
  const dir = path.join(ctx.tmp, `round-${index}`);
  mkdirSync(dir);
  const common = { REDIS_URL: ctx.redis.url, REDIS_PREFIX: `bench-scale-${index}-${randomBytes(4).toString('hex')}`, LOG_LEVEL: 'info', DICOMWEB_ALLOWLIST: ctx.pacs.baseUrl };
  const dataDir = (name: string): string => {
    const d = path.join(dir, `data-${name}`);
    mkdirSync(d);
    return d;
  };
  const workerList = await Promise.all(Array.from({ length: workers }, async (_, i) => {
    const name = `worker-${i + 1}`;
    const w = await startWorker(name, {
      ...common,
      DATA_DIR: dataDir(name),
      MODELS,
      ORT_PROVIDERS: 'cpu',
      ORT_INTRA_OP_THREADS: '1',
      JOB_CONCURRENCY: '1',
      DICOMWEB_AUTH: 'basic',
      DICOMWEB_USERNAME: ctx.pacs.username,
      DICOMWEB_PASSWORD: ctx.pacs.password,
      ...extraEnv('BENCH_WORKER_ENV'),
    }, path.join(dir, `${name}.log`), onJob);
    started.add(w.proc);
    return w;
  }));
  const fronts = await Promise.all(Array.from({ length: FRONTS }, async (_, i) => {
    const name = `front-${i + 1}`;
    const f = await startFront(name, {
      ...common,
      DATA_DIR: dataDir(name),
      FHIR_SERVER_ALLOWLIST: FHIR_SERVER,
      PACS_TRIGGER_SECRET: ctx.secret,
      PACS_TRIGGER_DICOMWEB_ROOT: ctx.pacs.dicomWebRoot,
      JOB_QUEUE_CAPACITY: String(Math.max(64, 2 * ctx.studies.length)),
      ...extraEnv('BENCH_FRONT_ENV'),
    }, path.join(dir, `${name}.log`));
    started.add(f.proc);
    return f;
  }));
  return { fronts, workerList };
}

const sumOver = async (urls: readonly string[], name: string, labels = ''): Promise<number> =>
  (await Promise.all(urls.map(scrape))).reduce((s, text) => s + metricSum(text, name, labels), 0);

const frontOf = (fronts: readonly Front[], i: number): Front => {
  const f = fronts[i % fronts.length];
  if (f === undefined) throw new Error('no front');
  return f;
};

/** What the hooks during a run saw. */
interface DuringRun {
  /** "In progress" while the study's trigger job may still be waiting or running. */
  readonly queuedMs: number[];
  /** "In progress" after the study's trigger job had ended: the hook's own job waits its turn. */
  readonly analysedMs: number[];
  /** The result, already during the run. */
  readonly resultMs: number[];
}

/**
 * Phase 1: triggers, then hooks on three studies a quarter into the queue, until every
 * trigger job has ended. Returns t0, the end and what the hooks saw.
 */
async function runPhase(ctx: Context, fronts: readonly Front[], jobs: JobLog, workers: number): Promise<{ t0: number; end: number; triggerMs: number[]; during: DuringRun }> {
  const { studies } = ctx;
  const n = studies.length;
  const triggerMs: number[] = [];
  const during: DuringRun = { queuedMs: [], analysedMs: [], resultMs: [] };
  const t0 = performance.now();
  for (const [i, study] of studies.entries()) triggerMs.push(await callTrigger(frontOf(fronts, i).url, ctx.secret, study));
  // A quarter into the queue: their trigger jobs end early, and their hooks' jobs, queued after
  // every trigger job, start only once every trigger job has started.
  const first = Math.min(Math.floor(n / 4), Math.max(0, n - PROBED));
  const targets = studies.slice(first, first + PROBED).map((study, j) => ({ study, index: first + j }));
  const state: { finished: boolean; failure: Error | undefined } = { finished: false, failure: undefined };
  const probes = (async () => {
    for (let k = 0; !state.finished; k++) {
      const target = targets[k % targets.length];
      if (target === undefined) return;
      // Its trigger job is among the first index+1 to start, give or take the jobs taken at once.
      const analysed = jobs.firstEnded(Math.min(n, target.index + 1 + workers)) !== undefined;
      const answer: HookAnswer = await callHook(frontOf(fronts, k).url, target.study);
      (answer.kind === 'result' ? during.resultMs : analysed ? during.analysedMs : during.queuedMs).push(answer.ms);
      await sleep(PROBE_PAUSE_MS);
    }
  })();
  probes.catch((err: unknown) => { state.failure = err instanceof Error ? err : new Error(String(err)); });
  const deadline = t0 + ROUND_TIMEOUT_MS;
  let end = jobs.firstEnded(n);
  while (end === undefined) {
    if (state.failure !== undefined) throw state.failure;
    if (performance.now() > deadline) throw new Error(`round not finished after ${ROUND_TIMEOUT_MS / 1000} s: ${jobs.started().length} jobs started, of ${n} triggered`);
    await sleep(5);
    end = jobs.firstEnded(n);
  }
  state.finished = true;
  await probes;
  return { t0, end, triggerMs, during };
}

/** Phases 2 and 3: the first hook after the trigger, then a repeated one, on every study. */
async function readyPhases(studies: readonly BenchStudy[], fronts: readonly Front[]): Promise<{ firstMs: number[]; firstInProgress: number; repeatMs: number[]; positives: number }> {
  const firstMs: number[] = [];
  const repeatMs: number[] = [];
  let firstInProgress = 0;
  let positives = 0;
  for (const [i, study] of studies.entries()) {
    let answer = await callHook(frontOf(fronts, i).url, study);
    firstMs.push(answer.ms);
    if (answer.kind === 'in-progress') firstInProgress += 1;
    const deadline = Date.now() + 60_000;
    while (answer.kind === 'in-progress') {
      if (Date.now() > deadline) throw new Error(`hook ${study.id}: still in progress 60 s after its trigger job ended`);
      await sleep(100);
      answer = await callHook(frontOf(fronts, i).url, study);
    }
    if (answer.positive) positives += 1;
  }
  for (const [i, study] of studies.entries()) {
    const answer = await callHook(frontOf(fronts, i + 1).url, study);
    if (answer.kind !== 'result') throw new Error(`hook ${study.id}: a repeated hook was not answered with the result`);
    repeatMs.push(answer.ms);
  }
  return { firstMs, firstInProgress, repeatMs, positives };
}

/** The running round's fronts and workers: stopped before Redis and Orthanc, however the bench ends. */
const roundProcesses = new Set<{ stop(): Promise<void> }>();
const stopRound = async (): Promise<void> => {
  await Promise.all([...roundProcesses].map((p) => p.stop()));
  roundProcesses.clear();
};

async function runRound(ctx: Context, index: number, workers: number, block: number): Promise<Round> {
  const jobs = new JobLog();
  try {
    const { fronts, workerList } = await startProcesses(ctx, index, workers, (e) => { jobs.record(e); }, roundProcesses);
    const workerOps = workerList.map((w) => w.opsUrl);
    const frontOps = fronts.map((f) => f.opsUrl);
    await sleep(1000);
    const before = { workers: await sumOver(workerOps, 'process_cpu_seconds_total'), fronts: await sumOver(frontOps, 'process_cpu_seconds_total'), runs: await sumOver(workerOps, 'inference_duration_seconds_count') };
    const run = await runPhase(ctx, fronts, jobs, workers);
    const n = ctx.studies.length;
    const triggerKeys = jobs.started().slice(0, n);
    const after = { workers: await sumOver(workerOps, 'process_cpu_seconds_total'), fronts: await sumOver(frontOps, 'process_cpu_seconds_total'), runs: await sumOver(workerOps, 'inference_duration_seconds_count') };
    const hookJobs = jobs.started().length - n;
    const load1 = loadavg()[0] ?? NaN;
    const ready = await readyPhases(ctx.studies, fronts);
    const seconds = (run.end - run.t0) / 1000;
    return {
      index,
      block,
      workers,
      seconds,
      studiesPerS: n / seconds,
      jobsDone: jobs.count('done', triggerKeys),
      jobsFailed: jobs.count('failed', triggerKeys),
      hookJobs,
      modelRuns: after.runs - before.runs,
      workerCpuS: after.workers - before.workers,
      frontCpuS: after.fronts - before.fronts,
      load1,
      triggerMs: run.triggerMs,
      during: run.during,
      ...ready,
    };
  } finally {
    await stopRound();
  }
}

const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '–');
const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '–');
const latencyRow = (workers: string, what: string, ms: readonly number[]): string[] =>
  ms.length === 0 ? [workers, what, '0', '–', '–', '–', '–'] : [workers, what, String(ms.length), f1(quantile(ms, 0.5)), f1(quantile(ms, 0.95)), f1(quantile(ms, 0.99)), f1(Math.max(...ms))];

function report(rounds: readonly Round[]): string[] {
  const out: string[] = [];
  out.push(table([
    ['round', 'workers', 'seconds', 'studies/s', 'trigger jobs done', 'failed', 'hook jobs', 'inference calls', 'worker CPU s/study', 'front CPU s', 'positive', 'load 1m'],
    ...rounds.map((r) => [String(r.index), String(r.workers), f2(r.seconds), f2(r.studiesPerS), String(r.jobsDone), String(r.jobsFailed), String(r.hookJobs), String(r.modelRuns), f2(r.workerCpuS / STUDIES), f2(r.frontCpuS), String(r.positives), f2(r.load1)]),
  ]));
  out.push('');
  const by = (w: number): Round[] => rounds.filter((r) => r.workers === w);
  const base = WORKER_COUNTS[0] ?? 1;
  const ratios = (w: number): number[] =>
    [...new Set(rounds.map((r) => r.block))].flatMap((b) => {
      const x = rounds.find((r) => r.block === b && r.workers === w);
      const y = rounds.find((r) => r.block === b && r.workers === base);
      return x === undefined || y === undefined ? [] : [x.studiesPerS / y.studiesPerS];
    });
  out.push(table([
    ['workers', 'rounds', 'studies/s median (min–max)', `over ${base} worker, per half-cycle: median (min–max)`, 'worker CPU s/study median'],
    ...WORKER_COUNTS.map((w) => {
      const s = spread(by(w).map((r) => r.studiesPerS));
      return [String(w), String(s.n), `${f2(s.median)} (${f2(s.min)}–${f2(s.max)})`, w === base ? '1 (baseline)' : formatSpread(spread(ratios(w))), f2(median(by(w).map((r) => r.workerCpuS / STUDIES)))];
    }),
  ]));
  out.push('');
  out.push('hook latency at the client, ms, all rounds of a worker count together:');
  out.push(table([
    ['workers', 'answer', 'n', 'p50', 'p95', 'p99', 'max'],
    ...WORKER_COUNTS.flatMap((w) => [
      latencyRow(String(w), 'in progress, trigger job waiting or running', by(w).flatMap((r) => r.during.queuedMs)),
      latencyRow(String(w), 'in progress, trigger job ended', by(w).flatMap((r) => r.during.analysedMs)),
      latencyRow(String(w), 'result, during the run', by(w).flatMap((r) => r.during.resultMs)),
      latencyRow(String(w), 'first hook after the trigger', by(w).flatMap((r) => r.firstMs)),
      latencyRow(String(w), 'repeated hook (stored outcome)', by(w).flatMap((r) => r.repeatMs)),
      latencyRow(String(w), 'PACS trigger → 202', by(w).flatMap((r) => r.triggerMs)),
    ]),
  ]));
  const late = rounds.reduce((n, r) => n + r.firstInProgress, 0);
  out.push(`first hooks after the trigger answered "in progress" (then asked again until the result): ${late} of ${rounds.reduce((n, r) => n + r.firstMs.length, 0)}`);
  return out;
}

async function main(): Promise<void> {
  process.stdout.write(`${machineLines().join('\n')}\n`);
  const tmp = mkdtempSync(path.join(tmpdir(), 'imaging-cds-scale-out-'));
  const cleanups: (() => Promise<void>)[] = [];
  let cleaning: Promise<void> | undefined;
  // Once, whoever asks first (the end of the bench, an error, SIGINT): the round's fronts and
  // workers first, then Redis and Orthanc, then the temporary folder.
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      await stopRound();
      await stopAll((name) => name.startsWith('front-') || name.startsWith('worker-'));
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
      await stopAll();
      if (process.env['BENCH_KEEP'] === '1') process.stderr.write(`kept ${tmp} (every process's log)\n`);
      else rmSync(tmp, { recursive: true, force: true });
    })());
  const removeHandlers = onInterrupt(cleanup);
  const progress = (s: string): void => { process.stderr.write(`${s}\n`); };
  try {
    const redis = await startBenchRedis(path.join(tmp, 'redis'));
    cleanups.push(() => redis.stop());
    const pacs = await startBenchPacs(path.join(tmp, 'orthanc'));
    cleanups.push(() => pacs.stop());
    progress(`storing ${STUDIES} studies in Orthanc…`);
    const studies = await prepareStudies(pacs, STUDIES, FHIR_SERVER);
    for (const s of studies) await pacs.retrieveStudy(s.studyInstanceUid);
    const ctx: Context = { tmp, redis, pacs, studies, secret: randomBytes(24).toString('hex') };
    const order = roundOrder();
    process.stdout.write([
      `redis-server ${redis.version}, Orthanc ${pacs.version} (DICOMweb plugin); every process on this machine, over loopback`,
      `${STUDIES} studies, one radiograph each, copies of ${SOURCE_FILES.join(', ')} in turn; MODELS=${MODELS}, SALIENCY=flagged (the default: a pneumonia finding adds an occlusion map, more inference calls)`,
      `${FRONTS} fronts (node dist/src/main.js, HOOK_BUDGET_MS default 400); workers (node dist/src/worker.js) ORT_INTRA_OP_THREADS=1 JOB_CONCURRENCY=1; rounds: ${order.map((o) => o.workers).join(',')}`,
      '',
    ].join('\n'));
    const rounds: Round[] = [];
    for (const [i, o] of order.entries()) {
      const r = await runRound(ctx, i + 1, o.workers, o.block);
      rounds.push(r);
      progress(`round ${i + 1}/${order.length}: ${o.workers} worker(s), ${f2(r.seconds)} s, ${f2(r.studiesPerS)} studies/s`);
    }
    process.stdout.write(`${report(rounds).join('\n')}\n`);
    process.stdout.write(`load average at the end ${loadavg().map(f2).join(' ')}; the machine is shared with other work: read medians and ranges\n`);
  } finally {
    await cleanup();
    removeHandlers();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
