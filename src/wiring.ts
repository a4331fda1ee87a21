/**
 * Builds the running service's dependencies from the config: the one place where concrete
 * implementations meet (inference engine, DICOMweb source, FHIR client, JWT verifier, stores).
 * Everything below receives them as plain interfaces.
 */
import { createHash } from 'node:crypto';
import type { Bundle } from 'fhir/r4.js';
import type { Config } from './config.js';
import { isAppError } from './errors.js';
import type { Logger } from './logging.js';
import type { AppDeps } from './app.js';
import { createMemoryAnswerStore, createMetrics, trustDomainOf, type AnswerStore, type ResultsLookup, type TriggersRouterDeps } from './http/index.js';
import { openFeedbackStore } from './audit/index.js';
import { createClientJwtVerifier, createMemoryReplayCache, createOriginAllowList, readJwksFile, replayEntriesPerIssuer, type TrustedIssuer } from './auth/index.js';
import { createCatalogue, createFhirQueryClient, createPrefetchResolver, type FhirClientFactory, type ResultOwner, type ResultSink } from './cds/index.js';
import { analyseStudyThenMaps, createMemoryResultCache, type PacsResultStore, type ModelProfile, type ResultCache, type ModelRunner, type StudyAnalysis } from './analysis/index.js';
import { createInProcessJobQueue, createRedisJobQueue, openRedisAnswerStore, openRedisResultCache, openRedisStrings, startRedisWorker, type AnalysisJob, type AnalysisWorker, type JobMetrics, type JobQueue, type ModelRef } from './jobs/index.js';
import { createDicomWebClient, createDicomWebImageSource, storeSegmentationResults } from './dicom/index.js';
import { studyOfJob } from './triggers/index.js';
import { createInferenceEngine, type AvailableModel, type InferenceEngine } from './inference/index.js';
import { createResultIndex, loadTemplates, reportIdentifierOf, resultBundle, type RenderedResult } from './reports/index.js';
import { createFhirWriter, createWriteBackQueue, type WriteBackQueue } from './fhir/index.js';

export interface RunningDeps extends AppDeps {
  /** The models, loaded in this process; undefined on a front whose workers run them (REDIS_URL). */
  readonly engine: InferenceEngine | undefined;
  /** Analysis jobs: in this process, or BullMQ on Redis. */
  readonly jobs: JobQueue;
  /** Background write-back; undefined when WRITEBACK_FHIR_SERVER is not set. */
  readonly writeBack: WriteBackQueue | undefined;
  /** Releases models and stores (after the server stopped accepting). */
  close(): Promise<void>;
}

export interface WiringOverrides {
  /** Clock for services (tests pin "now" to make recency rules deterministic). */
  readonly now?: () => Date;
}

/** One line a physician can weigh: the model's measured test performance. */
export function performanceLine(m: AvailableModel): string {
  const { metrics } = m;
  const parts: string[] = [];
  if (metrics.auc !== undefined) parts.push(`AUC ${metrics.auc.toFixed(3)}${metrics.auc95 === undefined ? '' : ` (95% CI ${metrics.auc95[0].toFixed(3)}–${metrics.auc95[1].toFixed(3)})`}`);
  if (metrics.sensitivity !== undefined) parts.push(`sensitivity ${(metrics.sensitivity * 100).toFixed(1)}%`);
  if (metrics.specificity !== undefined) parts.push(`specificity ${(metrics.specificity * 100).toFixed(1)}%`);
  if (metrics.dice !== undefined) parts.push(`Dice ${metrics.dice.toFixed(3)}`);
  const ef = metrics.lvEjectionFraction;
  if (ef !== undefined) parts.push(`LV EF mean absolute error ${ef.mae.toFixed(1)} points (bias ${ef.bias.toFixed(1)}; 95% limits of agreement ${ef.loa95[0].toFixed(1)} to ${ef.loa95[1].toFixed(1)})`);
  return parts.length === 0 ? `No published test metrics (${metrics.dataset}).` : `Measured on ${metrics.dataset}: ${parts.join(', ')}.`;
}

function modelRunner(engine: InferenceEngine): ModelRunner {
  // The set of loaded models is fixed once the engine is built: derive the profiles once, not
  // on every hook call (engine.models() copies every manifest).
  const profiles: ModelProfile[] = engine.models().map((m) => ({
    model: { id: m.id, version: m.version, name: m.name, manufacturer: m.manufacturer, task: m.task, intendedUse: m.intendedUse, templates: m.templates, performance: performanceLine(m) },
    accepts: m.accepts,
    windowing: m.input.windowing,
    ...(m.input.series === undefined ? {} : { series: m.input.series }),
  }));
  return {
    profiles: () => profiles,
    run: (modelId, image, options) => engine.run(modelId, image, options),
    explain: (modelId, image) => engine.explain(modelId, image),
  };
}

function verifierIssuers(config: Config): TrustedIssuer[] {
  return config.trustedIssuers.map((i) => ({
    iss: i.iss,
    ...(i.jwksUrl === undefined ? {} : { jwksUrl: i.jwksUrl }),
    ...(i.jwksFile === undefined ? {} : { jwks: readJwksFile(i.jwksFile) }),
    ...(i.allowedJku === undefined ? {} : { allowedJku: i.allowedJku }),
    ...(i.tenants === undefined ? {} : { tenants: i.tenants }),
  }));
}

/** The client-JWT verifier with its per-issuer limits and replay-cache shares. */
function clientVerifier(config: Config, log: Logger): ReturnType<typeof createClientJwtVerifier> {
  const limits = config.jwtLimits;
  const entries =
    limits.replayEntriesPerIssuer ??
    replayEntriesPerIssuer({
      ratePerSecond: limits.issuerRatePerSecond,
      burst: limits.issuerBurst,
      maxTokenAgeSeconds: limits.maxTokenAgeSeconds,
      maxLifetimeSeconds: limits.maxLifetimeSeconds,
      clockSkewSeconds: config.jwtClockSkewSeconds,
    });
  return createClientJwtVerifier({
    trustedIssuers: verifierIssuers(config),
    replayCache: createMemoryReplayCache({ maxEntriesPerIssuer: entries }),
    clockSkewSeconds: config.jwtClockSkewSeconds,
    maxTokenAgeSeconds: limits.maxTokenAgeSeconds,
    maxLifetimeSeconds: limits.maxLifetimeSeconds,
    issuerRatePerSecond: limits.issuerRatePerSecond,
    issuerBurst: limits.issuerBurst,
    log: log.child({ layer: 'auth' }),
  });
}

type Metrics = ReturnType<typeof createMetrics>;

/** The jobs layer's metrics interface, backed by the Prometheus registry. */
function jobMetricsOf(metrics: Metrics): JobMetrics {
  const m = metrics.jobs;
  return {
    depth: (n) => { m.depth.set(n); },
    waited: (s) => { m.wait.observe(s); },
    ran: (s, outcome) => { m.run.observe({ outcome }, s); },
    served: (state) => { m.served.inc({ state }); },
    shed: () => { m.shed.inc(); },
  };
}

/** The DICOMweb allow-list, credentials, timeouts and JSON cap every PACS call of this process uses. */
function dicomWebLimits(config: Config): { allowList: ReturnType<typeof createOriginAllowList>; auth: Config['dicomWeb']['auth']; timeoutMs: number; jsonTimeoutMs: number; maxJsonBytes: number } {
  const { allowList, auth, timeoutMs, jsonTimeoutMs, maxJsonBytes } = config.dicomWeb;
  return { allowList: createOriginAllowList([...allowList]), auth, timeoutMs, jsonTimeoutMs, maxJsonBytes };
}

/**
 * Segmentation results to the study's PACS as DICOM SEG + SR (PACS_WRITE_BACK). A failure is
 * logged (code only: no identifiers) and the result stands without them.
 */
function pacsResultStore(config: Config, log: Logger): PacsResultStore {
  const client = createDicomWebClient({ ...dicomWebLimits(config), maxResponseBytes: config.dicomWeb.maxBytes });
  return {
    store: async (input) => {
      const { id, version } = input.model;
      try {
        const stored = await storeSegmentationResults(client, { ...input, reportIdentifier: reportIdentifierOf(input.studyInstanceUid, input.model) });
        log.info({ model: id, version, images: input.images.length }, 'segmentation stored to the PACS (SEG and SR)');
        return stored;
      } catch (err) {
        log.warn({ model: id, version, code: isAppError(err) ? err.code : 'INTERNAL', reason: err instanceof Error ? err.message : String(err) }, 'segmentation not stored to the PACS');
        return undefined;
      }
    },
  };
}

/** The analysis use case with its models loaded: what the embedded queue and a worker run. */
interface Analysis {
  readonly engine: InferenceEngine;
  readonly analyse: (job: AnalysisJob, onFindings: (analysis: StudyAnalysis) => Promise<void>) => Promise<StudyAnalysis>;
  readonly models: () => readonly ModelRef[];
}

async function buildAnalysis(config: Config, log: Logger, metrics: Metrics, cache: ResultCache): Promise<Analysis> {
  const inferenceLog = log.child({ layer: 'inference' });
  const engine = await createInferenceEngine({
    modelsDir: config.modelsDir,
    enabledModels: config.models.length === 0 ? undefined : config.models,
    saliency: config.saliency,
    executionProviders: config.ortProviders,
    intraOpNumThreads: config.ortIntraOpThreads === 0 ? undefined : config.ortIntraOpThreads,
    log: (level, msg, fields) => { inferenceLog[level](fields ?? {}, msg); },
    onBatch: (e) => { if (e.ok) metrics.inference.observe({ model: e.modelId }, e.ms / 1000); },
  });
  const images = createDicomWebImageSource({ ...dicomWebLimits(config), maxBytes: config.dicomWeb.maxBytes });
  const models = modelRunner(engine);
  const refs = models.profiles().map((p) => ({ id: p.model.id, version: p.model.version }));
  const pacs = config.pacsWriteBack ? pacsResultStore(config, log.child({ layer: 'pacs-write-back' })) : undefined;
    // A PACS trigger's job names only its study: its series are listed here, in the worker.
  // Findings first (stored by the job, answerable), saliency maps after, in the same job.
  const analyse = async (job: AnalysisJob, onFindings: (a: StudyAnalysis) => Promise<void>): Promise<StudyAnalysis> =>
    analyseStudyThenMaps({ images, models, cache, claimTtlMs: config.jobs.lockMs, pacs }, await studyOfJob(job, (root, uid) => images.listSeries(root, uid)), onFindings);
  return { engine, analyse, models: () => refs };
}

/** The embedded queue over this process's analysis, or the shared one on Redis (no models here). */
/** The loaded models as one string: a stored answer is for these versions only. */
const fingerprintOf = (models: readonly ModelRef[]): string => models.map((m) => `${m.id}@${m.version}`).sort().join(',');

interface Jobs {
  readonly jobs: JobQueue;
  readonly engine: InferenceEngine | undefined;
  readonly readiness: AppDeps['readiness'];
  /** Final answers: in Redis with the jobs (every front sends them), else in this process. */
  readonly answers: AnswerStore & { close?: () => void };
}

async function buildJobs(config: Config, log: Logger, metrics: Metrics): Promise<Jobs> {
  const jobLog = log.child({ layer: 'jobs' });
  const { redis, ...limits } = config.jobs;
  if (redis !== undefined) {
    const jobs = await createRedisJobQueue({ ...redis, capacity: limits.capacity, retries: limits.retries, retryDelayMs: limits.retryDelayMs, metrics: jobMetricsOf(metrics), log: jobLog });
    // A front is ready when a worker has registered the models it runs.
    const readiness = (): ReturnType<AppDeps['readiness']> => {
      const models = jobs.models();
      return { ready: models.length > 0, models: models.map((m) => ({ id: m.id, status: 'ready' as const, reason: `version ${m.version}, run by the workers` })) };
    };
    return { jobs, engine: undefined, readiness, answers: openRedisAnswerStore(redis.url, redis.prefix, limits.resultTtlSeconds, () => fingerprintOf(jobs.models())) };
  }
  const analysis = await buildAnalysis(config, log, metrics, createMemoryResultCache(config.resultCacheSize));
  const jobs = createInProcessJobQueue({
    analyse: analysis.analyse,
    models: analysis.models,
    concurrency: limits.concurrency,
    capacity: limits.capacity,
    resultsSize: config.resultCacheSize,
    retries: limits.retries,
    retryDelayMs: limits.retryDelayMs,
    transientFailureTtlMs: limits.failureTtlSeconds * 1000,
    metrics: jobMetricsOf(metrics),
    log: jobLog,
  });
  return { jobs, engine: analysis.engine, readiness: () => engineReadiness(analysis.engine), answers: createMemoryAnswerStore(config.resultCacheSize, () => fingerprintOf(analysis.models())) };
}

function engineReadiness(engine: InferenceEngine): ReturnType<AppDeps['readiness']> {
  const s = engine.status();
  return {
    ready: s.ready,
    models: s.models.map((m) => ({ id: m.id, status: m.status, ...(m.reason === undefined ? {} : { reason: m.reason }) })),
  };
}

/** The configured triggers, feeding `jobs`; their results belong to the trigger's trust domain. */
function buildTriggers(config: Config, jobs: JobQueue, metrics: Metrics): TriggersRouterDeps {
  const { client, pacs, subscription } = config.triggers;
  const domain = trustDomainOf(client);
  return {
    jobs,
    metrics,
    pacs: pacs === undefined ? undefined : { domain, dicomWebRoot: pacs.dicomWebRoot, secret: pacs.secret },
    subscription:
      subscription === undefined
        ? undefined
        : {
            domain,
            secret: subscription.secret,
            fhirServer: subscription.fhirServer,
            topic: subscription.topic,
            // The service's own credentials at the notifying server, never a client's token.
            client: createFhirQueryClient({ baseUrl: subscription.fhirServer, accessToken: subscription.token, ...config.fhir }),
            defaultDicomWebRoot: config.dicomWeb.defaultRoot,
          },
  };
}

/**
 * The results endpoint's store: this process's index and, with Redis, a copy every front reads
 * (keyed by a digest of trust domain, patient and ImagingStudy id: no identifier in clear).
 */
function buildResultStore(config: Config, log: Logger): { record: (owner: ResultOwner, results: readonly RenderedResult[]) => void; lookup: ResultsLookup; close: () => void } {
  const index = createResultIndex(config.resultIndexSize);
  const { redis } = config.jobs;
  if (redis === undefined) return { record: (o, r) => { index.record(o, r); }, lookup: (q) => Promise.resolve(index.bundleFor(q)), close: () => undefined };
  const shared = openRedisStrings(redis.url, redis.prefix, 'results', config.jobs.resultTtlSeconds);
  const keyOf = (q: ResultOwner): string => createHash('sha256').update(JSON.stringify([q.domain, q.patientId, q.imagingStudyId])).digest('hex');
  return {
    record(owner, results) {
      index.record(owner, results);
      const bundle = index.bundleFor(owner);
      if (bundle !== undefined) shared.set(keyOf(owner), JSON.stringify(bundle)).catch((err: unknown) => { log.warn({ err: err instanceof Error ? err.message : String(err) }, 'results not shared with the other fronts (Redis)'); });
    },
    async lookup(q) {
      const text = await shared.get(keyOf(q)).catch(() => undefined);
      // Redis down or the entry gone: what this front rendered itself.
      return text === undefined ? index.bundleFor(q) : (JSON.parse(text) as Bundle);
    },
    close: () => { shared.close(); },
  };
}

/** A worker process: the models, the analysis, and jobs taken from Redis. */
export interface RunningWorker {
  readonly metrics: Metrics;
  readonly readiness: AppDeps['readiness'];
  close(): Promise<void>;
}

/**
 * Starts a worker (`npm run worker`): loads the models and runs the analyses the fronts queue.
 *
 * @param config - validated config; `REDIS_URL` must be set
 * @param log - root logger
 */
export async function startWorker(config: Config, log: Logger): Promise<RunningWorker> {
  const { redis, ...limits } = config.jobs;
  if (redis === undefined) throw new Error('a worker needs REDIS_URL (without it the service runs its analyses in process)');
  const metrics = createMetrics();
  // Shared by every worker: a study one worker analysed is answered by any other from here.
  const shared = openRedisResultCache(redis.url, redis.prefix, limits.resultTtlSeconds);
  const analysis = await buildAnalysis(config, log, metrics, shared.cache);
  const worker: AnalysisWorker = await startRedisWorker({
    ...redis,
    analyse: analysis.analyse,
    models: analysis.models,
    concurrency: limits.concurrency,
    lockMs: limits.lockMs,
    resultTtlSeconds: limits.resultTtlSeconds,
    transientFailureTtlSeconds: limits.failureTtlSeconds,
    metrics: jobMetricsOf(metrics),
    log: log.child({ layer: 'jobs' }),
  });
  return {
    metrics,
    readiness: () => engineReadiness(analysis.engine),
    async close() {
      await worker.close();
      shared.close();
      await analysis.engine.close();
    },
  };
}

/**
 * Builds every dependency of the app.
 *
 * @param config - validated config
 * @param log - root logger
 * @param overrides - test hooks
 */
export async function buildDependencies(config: Config, log: Logger, overrides: WiringOverrides = {}): Promise<RunningDeps> {
  const metrics = createMetrics();
  const templates = loadTemplates(config.templatesDir);
  const { jobs, engine, readiness, answers } = await buildJobs(config, log, metrics);
  const fhirAllow = createOriginAllowList([...config.fhirServerAllowList]);
  const clientFor: FhirClientFactory = (fhirServer, token) => {
    // The client's token goes wherever fhirServer points: only allow-listed servers get it.
    fhirAllow.assertAllowed(fhirServer, 'fhirServer');
    return createFhirQueryClient({ baseUrl: fhirServer, accessToken: token, ...config.fhir });
  };
  const resultStore = buildResultStore(config, log);
  const writeBack =
    config.writeBack === undefined
      ? undefined
      : createWriteBackQueue({ writer: createFhirWriter({ baseUrl: config.writeBack.fhirServer, bearerToken: config.writeBack.bearerToken, timeoutMs: config.writeBack.timeoutMs }) });
  const resultSink: ResultSink = (owner, results, reqLog, complete) => {
    resultStore.record(owner, results);
    // Written once complete (creates are conditional: a first write without the map would stay).
    if (!complete) return;
    // One transaction per model result, keyed by its DiagnosticReport's deterministic id.
    for (const r of results) writeBack?.submit(r.diagnosticReport.id ?? '', resultBundle([r], 'transaction', r.diagnosticReport.issued ?? new Date().toISOString()), reqLog);
  };
  const services = createCatalogue({
    jobs,
    hookBudgetMs: config.hookBudgetMs,
    inProgressCards: config.inProgressCards,
    templates,
    defaultDicomWebRoot: config.dicomWeb.defaultRoot,
    viewerUrl: config.viewerUrl,
    smartViewer: config.smartViewerUrl === undefined ? undefined : { url: config.smartViewerUrl, label: 'Open the study in the imaging viewer app' },
    resultSink,
    recentStudyDays: config.recentStudyDays,
    priorStudyLookbackDays: config.priorStudyLookbackDays,
    imagingOrders: config.imagingOrders,
    notAnalysedCards: config.notAnalysedCards,
    onOutsideUse: (model, reason) => { metrics.notApplied.inc({ model, reason }); },
    maxStudiesPerCall: 3,
    now: overrides.now ?? (() => new Date()),
  });
  const verifier = config.unauthenticated ? undefined : clientVerifier(config, log);
  const feedback = await openFeedbackStore(config.dataDir);
  return {
    services,
    verifier,
    publicBaseUrl: config.publicBaseUrl,
    feedback,
    metrics,
    log,
    corsOrigins: config.corsOrigins,
    bodyLimit: config.bodyLimit,
    engine,
    jobs,
    writeBack,
    results: resultStore.lookup,
    triggers: buildTriggers(config, jobs, metrics),
    answers,
    readiness,
    contextFor: (service, request, reqLog, domain) => ({ data: createPrefetchResolver(request, service.definition.prefetch ?? {}, clientFor), log: reqLog, domain }),
    async close() {
      // Let running write-backs finish (each is bounded by its timeout and retries).
      await writeBack?.idle();
      await jobs.close();
      answers.close?.();
      resultStore.close();
      await engine?.close();
      await feedback.close();
    },
  };
}
