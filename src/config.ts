/**
 * Configuration: read once from the environment into a frozen, typed object. Start-up stops
 * with an actionable message when a value is wrong. Nothing else in src/ reads process.env.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isFhirKitDebugEnabled } from './fhir/index.js';
import { createOriginAllowList } from './auth/index.js';
import { IMAGINGSTUDY_AVAILABLE_TOPIC } from './terminology.js';
import { ConfigError, csv, jsonListSetting } from './config-base.js';
import { VIEWER_ENV, viewerConfig, type ViewerConfig } from './config-viewer.js';

/** The repository root (src/ and dist/src/ both sit one or two levels below it). */
export const PROJECT_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '..', '..') : path.resolve(here, '..');
})();

const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

const trustedIssuer = z.strictObject({
  iss: z.string().min(1),
  jwksUrl: z.url().optional(),
  jwksFile: z.string().optional(),
  allowedJku: z.array(z.url()).optional(),
  tenants: z.array(z.string().min(1)).optional(),
});

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().optional(),
  PUBLIC_BASE_URL: z.url().optional(),
  /** Operational port (/readyz, /metrics); 0 picks a free one. */
  OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  OPS_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** JSON array of trusted issuers, or a path to a file holding it. */
  CDS_TRUSTED_ISSUERS: z.string().optional(),
  CDS_ALLOW_UNAUTHENTICATED_NON_LOOPBACK: bool,
  CDS_JWT_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(600).default(60),
  /** Longest accepted client-JWT lifetime, exp − iat (CDS Hooks asks for ≤ 5 minutes). */
  CDS_JWT_MAX_LIFETIME_S: z.coerce.number().int().positive().max(3600).default(300),
  /** Oldest accepted iat. */
  CDS_JWT_MAX_AGE_S: z.coerce.number().int().positive().max(3600).default(300),
  /** Verified requests per second each issuer may make, sustained, and its burst. */
  CDS_ISSUER_RATE_LIMIT: z.coerce.number().positive().default(2000),
  CDS_ISSUER_BURST: z.coerce.number().int().positive().default(2000),
  /** Each issuer's share of the jti replay cache; default sized from the four values above. */
  CDS_REPLAY_CACHE_ENTRIES_PER_ISSUER: z.coerce.number().int().positive().optional(),
  FHIR_SERVER_ALLOWLIST: csv,
  // Outbound limits sized for a hook answered in about half a second (README § Configuration).
  FHIR_TIMEOUT_MS: z.coerce.number().int().positive().default(1500),
  FHIR_SEARCH_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  FHIR_MAX_RESPONSE_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  FHIR_MAX_SEARCH_BYTES: z.coerce.number().int().positive().default(16 * 1024 * 1024),
  DICOMWEB_ALLOWLIST: csv,
  DICOMWEB_DEFAULT_ROOT: z.url().optional(),
  DICOMWEB_AUTH: z.enum(['none', 'basic', 'bearer']).default('none'),
  DICOMWEB_USERNAME: z.string().optional(),
  DICOMWEB_PASSWORD: z.string().optional(),
  DICOMWEB_TOKEN: z.string().optional(),
  DICOMWEB_TIMEOUT_MS: z.coerce.number().int().positive().default(4000),
  DICOMWEB_MAX_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  DICOMWEB_JSON_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
  DICOMWEB_JSON_MAX_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  MODELS_DIR: z.string().default(path.join(PROJECT_ROOT, 'models')),
  /** Model ids to load; empty = every folder whose manifest does not say `"enabled": false`. */
  MODELS: csv,
  /** When classifier results carry an occlusion saliency map (never / flagged / always). */
  SALIENCY: z.enum(['never', 'flagged', 'always']).default('flagged'),
  TEMPLATES_DIR: z.string().default(path.join(PROJECT_ROOT, 'templates')),
  DATA_DIR: z.string().default(path.join(PROJECT_ROOT, '.data')),
  ORT_PROVIDERS: csv.transform((l) => (l.length === 0 ? ['cpu'] : l)).pipe(z.array(z.enum(['cuda', 'tensorrt', 'cpu']))),
  ORT_INTRA_OP_THREADS: z.coerce.number().int().min(0).default(0),
  CORS_ORIGINS: csv,
  BODY_LIMIT: z.string().default('5mb'),
  RESULT_CACHE_SIZE: z.coerce.number().int().positive().default(1000),
  PRIOR_STUDY_LOOKBACK_DAYS: z.coerce.number().int().positive().default(365),
  /** LOINC codes of the order catalogue that mean imaging (comma-separated). */
  IMAGING_ORDER_LOINC: csv,
  /** Further order codes that mean imaging, as system|code (comma-separated). */
  IMAGING_ORDER_CODES: csv,
  RECENT_STUDY_DAYS: z.coerce.number().int().positive().default(30),
  /** The result hook's info card for a study no model analysed (true/false). */
  NOT_ANALYSED_CARDS: z.enum(['true', 'false', '1', '0']).default('true').transform((v) => v === 'true' || v === '1'),
  VIEWER_URL: z.url().optional(),
  /** SMART app launch URL for a `smart` card link (appContext carries the study). */
  SMART_VIEWER_URL: z.url().optional(),
  WRITEBACK_FHIR_SERVER: z.url().optional(),
  WRITEBACK_BEARER_TOKEN: z.string().optional(),
  WRITEBACK_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** Segmentation results stored back to the study's PACS as DICOM SEG + SR (STOW-RS; true/false). */
  PACS_WRITE_BACK: bool,
  RESULT_INDEX_SIZE: z.coerce.number().int().positive().default(1000),
  /** How long the result hook waits for its analysis before answering what is ready (defaults below). */
  HOOK_BUDGET_MS: z.coerce.number().int().min(0).max(600_000).optional(),
  /** The result hook's info card for an analysis still running (true/false). */
  IN_PROGRESS_CARDS: z.enum(['true', 'false', '1', '0']).default('true').transform((v) => v === 'true' || v === '1'),
  /** BullMQ on this Redis instead of the in-process queue; fronts and workers share it. */
  REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL').optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('imaging-cds'),
  /** Analyses one process (the embedded queue, or one worker) runs at once. */
  JOB_CONCURRENCY: z.coerce.number().int().positive().max(64).default(2),
  /** Jobs waiting to run beyond which new ones are refused with 503 INFERENCE_BUSY. */
  JOB_QUEUE_CAPACITY: z.coerce.number().int().positive().default(64),
  /** Further runs after a transient failure (PACS down, inference busy), and the first delay (doubled). */
  JOB_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  JOB_RETRY_DELAY_MS: z.coerce.number().int().positive().default(500),
  /** How long Redis keeps a job's result or final failure. */
  JOB_RESULT_TTL_S: z.coerce.number().int().positive().default(86_400),
  /** How long a failure that ran out of retries is kept before a new hook tries again. */
  JOB_FAILURE_TTL_S: z.coerce.number().int().positive().default(30),
  /** A worker's lock on a running job: a worker that dies (SIGKILL, power) loses its jobs to another this long after. */
  JOB_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** Triggers (README § Triggers): whose results they are (an issuer of CDS_TRUSTED_ISSUERS, and a tenant). */
  TRIGGER_ISSUER: z.string().optional(),
  TRIGGER_TENANT: z.string().optional(),
  /** The PACS's stable-study trigger: its shared secret and the DICOMweb root it serves. */
  PACS_TRIGGER_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  PACS_TRIGGER_DICOMWEB_ROOT: z.url().optional(),
  /** The FHIR Subscription rest-hook: its shared secret, the notifying server and the service's token there. */
  SUBSCRIPTION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SUBSCRIPTION_FHIR_SERVER: z.url().optional(),
  SUBSCRIPTION_FHIR_TOKEN: z.string().optional(),
  SUBSCRIPTION_TOPIC: z.url().default(IMAGINGSTUDY_AVAILABLE_TOPIC),
  ...VIEWER_ENV,
});

export type TrustedIssuer = z.infer<typeof trustedIssuer>;
export type PacsAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string };

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Where /readyz and /metrics listen: loopback by default, never the public port. */
  readonly ops: { readonly port: number; readonly host: string };
  readonly publicBaseUrl: string;
  readonly logLevel: string;
  readonly trustedIssuers: readonly TrustedIssuer[];
  /** True when no trusted issuer is configured: calls are not authenticated. */
  readonly unauthenticated: boolean;
  readonly jwtClockSkewSeconds: number;
  /** Client-JWT limits: lifetime, age, per-issuer rate and burst, replay-cache share. */
  readonly jwtLimits: {
    readonly maxLifetimeSeconds: number;
    readonly maxTokenAgeSeconds: number;
    readonly issuerRatePerSecond: number;
    readonly issuerBurst: number;
    /** Undefined: sized from the others (the auth layer's rule). */
    readonly replayEntriesPerIssuer: number | undefined;
  };
  readonly fhirServerAllowList: readonly string[];
  /** FHIR reads with the client's token: per request, per search, and byte caps. */
  readonly fhir: { readonly timeoutMs: number; readonly searchTimeoutMs: number; readonly maxResponseBytes: number; readonly maxSearchBytes: number };
  readonly dicomWeb: {
    readonly allowList: readonly string[];
    readonly defaultRoot: string | undefined;
    readonly auth: PacsAuth;
    readonly timeoutMs: number;
    readonly maxBytes: number;
    readonly jsonTimeoutMs: number;
    readonly maxJsonBytes: number;
  };
  readonly modelsDir: string;
  /** Ids to load; empty means the manifests decide (`enabled`). */
  readonly models: readonly string[];
  readonly saliency: 'never' | 'flagged' | 'always';
  readonly templatesDir: string;
  readonly dataDir: string;
  readonly ortProviders: readonly ('cuda' | 'tensorrt' | 'cpu')[];
  readonly ortIntraOpThreads: number;
  readonly corsOrigins: readonly string[];
  readonly bodyLimit: string;
  readonly resultCacheSize: number;
  readonly priorStudyLookbackDays: number;
  readonly recentStudyDays: number;
  /** Whether the result hook says so, with the reasons, when no model analysed a study. */
  readonly notAnalysedCards: boolean;
  /** Imaging order codes beyond the built-in rule (category, RadLex Playbook, CPT 70010–79999). */
  readonly imagingOrders: { readonly loincImagingCodes: ReadonlySet<string>; readonly codes: ReadonlySet<string> };
  readonly viewerUrl: string | undefined;
  readonly smartViewerUrl: string | undefined;
  /** The result viewer (SMART app) and the operations page: config-viewer.ts. */
  readonly viewer: ViewerConfig;
  /** Background write-back of preliminary results; undefined when not configured. */
  readonly writeBack: { readonly fhirServer: string; readonly bearerToken: string | undefined; readonly timeoutMs: number } | undefined;
  /** Whether segmentation results go back to the study's DICOMweb root as DICOM SEG and SR (IHE AIR). */
  readonly pacsWriteBack: boolean;
  /** How many studies GET /results remembers. */
  readonly resultIndexSize: number;
  /** How long the result hook waits for its analysis (patient-view and order hooks never wait). */
  readonly hookBudgetMs: number;
  /** Whether the result hook answers an "AI analysis in progress" card for a running analysis. */
  readonly inProgressCards: boolean;
  /** The analysis queue: in-process when `redis` is undefined, else BullMQ on Redis. */
  readonly jobs: {
    readonly redis: { readonly url: string; readonly prefix: string } | undefined;
    readonly concurrency: number;
    readonly capacity: number;
    readonly retries: number;
    readonly retryDelayMs: number;
    readonly resultTtlSeconds: number;
    readonly failureTtlSeconds: number;
    readonly lockMs: number;
  };
  /** Analysis started before a hook asks; each trigger is off unless its secret is set. */
  readonly triggers: {
    /** The verified client whose trust domain triggered results belong to; undefined: the local domain. */
    readonly client: { readonly iss: string; readonly tenant: string | undefined } | undefined;
    readonly pacs: { readonly secret: string; readonly dicomWebRoot: string } | undefined;
    readonly subscription: { readonly secret: string; readonly fhirServer: string; readonly token: string | undefined; readonly topic: string } | undefined;
  };
}

type Env = z.infer<typeof envSchema>;

/** The triggers' settings, checked against the issuers and allow-lists they depend on. */
function triggerConfig(e: Env, issuers: readonly TrustedIssuer[], dicomWebAllow: readonly string[]): Config['triggers'] {
  const enabled = e.PACS_TRIGGER_SECRET !== undefined || e.SUBSCRIPTION_SECRET !== undefined;
  if (issuers.length > 0 && enabled && !issuers.some((i) => i.iss === e.TRIGGER_ISSUER)) {
    throw new ConfigError('a trigger is enabled: TRIGGER_ISSUER must name one of CDS_TRUSTED_ISSUERS (whose hooks are answered from its results)');
  }
  if (issuers.length === 0 && e.TRIGGER_ISSUER !== undefined) throw new ConfigError('TRIGGER_ISSUER is set but calls are not authenticated (no CDS_TRUSTED_ISSUERS)');
  const root = (e.PACS_TRIGGER_DICOMWEB_ROOT ?? e.DICOMWEB_DEFAULT_ROOT)?.replace(/\/+$/, '');
  if (e.PACS_TRIGGER_SECRET !== undefined && (root === undefined || !createOriginAllowList([...dicomWebAllow]).isAllowed(root))) {
    throw new ConfigError('PACS_TRIGGER_SECRET is set: PACS_TRIGGER_DICOMWEB_ROOT (or DICOMWEB_DEFAULT_ROOT) must be set and on DICOMWEB_ALLOWLIST');
  }
  const server = e.SUBSCRIPTION_FHIR_SERVER?.replace(/\/+$/, '');
  if (e.SUBSCRIPTION_SECRET !== undefined && (server === undefined || !createOriginAllowList([...e.FHIR_SERVER_ALLOWLIST]).isAllowed(server))) {
    throw new ConfigError('SUBSCRIPTION_SECRET is set: SUBSCRIPTION_FHIR_SERVER must be set and on FHIR_SERVER_ALLOWLIST');
  }
  return Object.freeze({
    client: e.TRIGGER_ISSUER === undefined ? undefined : Object.freeze({ iss: e.TRIGGER_ISSUER, tenant: e.TRIGGER_TENANT }),
    pacs: e.PACS_TRIGGER_SECRET === undefined || root === undefined ? undefined : Object.freeze({ secret: e.PACS_TRIGGER_SECRET, dicomWebRoot: root }),
    subscription:
      e.SUBSCRIPTION_SECRET === undefined || server === undefined
        ? undefined
        : Object.freeze({ secret: e.SUBSCRIPTION_SECRET, fhirServer: server, token: e.SUBSCRIPTION_FHIR_TOKEN, topic: e.SUBSCRIPTION_TOPIC }),
  });
}

export { ConfigError } from './config-base.js';

/**
 * The result hook's default budget, embedded or with workers: below CDS Hooks' ~500 ms
 * guidance. What is not ready by then is answered "in progress" and finished in the background
 * (in-process, or by the workers); a later hook gets the result. The demo and the example
 * generator, which want the findings in one call, set a longer budget themselves.
 */
export const DEFAULT_HOOK_BUDGET_MS = 400;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function parseIssuers(raw: string | undefined): TrustedIssuer[] {
  const issuers: TrustedIssuer[] = jsonListSetting(raw, 'CDS_TRUSTED_ISSUERS', trustedIssuer);
  for (const i of issuers) {
    if ((i.jwksUrl === undefined) === (i.jwksFile === undefined)) throw new ConfigError(`CDS_TRUSTED_ISSUERS: issuer ${i.iss} needs exactly one of jwksUrl or jwksFile`);
  }
  return issuers;
}

function pacsAuth(env: z.infer<typeof envSchema>): PacsAuth {
  switch (env.DICOMWEB_AUTH) {
    case 'none':
      return { kind: 'none' };
    case 'basic':
      if (env.DICOMWEB_USERNAME === undefined || env.DICOMWEB_PASSWORD === undefined) throw new ConfigError('DICOMWEB_AUTH=basic needs DICOMWEB_USERNAME and DICOMWEB_PASSWORD');
      return { kind: 'basic', username: env.DICOMWEB_USERNAME, password: env.DICOMWEB_PASSWORD };
    case 'bearer':
      if (env.DICOMWEB_TOKEN === undefined) throw new ConfigError('DICOMWEB_AUTH=bearer needs DICOMWEB_TOKEN');
      return { kind: 'bearer', token: env.DICOMWEB_TOKEN };
  }
}

/**
 * Parses and checks the environment.
 *
 * @param env - usually `process.env`; tests pass their own
 * @throws ConfigError - with a message that says which variable to fix
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  // fhir-kit-client's debug output prints the Authorization header: the client's token.
  if (isFhirKitDebugEnabled(env.DEBUG)) {
    throw new ConfigError('DEBUG enables fhir-kit-client logging, which prints bearer tokens: remove fhir-kit-client from DEBUG');
  }
  const trustedIssuers = parseIssuers(e.CDS_TRUSTED_ISSUERS);
  const unauthenticated = trustedIssuers.length === 0;
  // Safe default: without trusted issuers anyone who can reach the port can make us fetch and
  // analyse patient data, so bind to loopback unless a developer explicitly says otherwise.
  const host = e.HOST ?? (unauthenticated ? '127.0.0.1' : '0.0.0.0');
  if (unauthenticated && !LOOPBACK.has(host) && !e.CDS_ALLOW_UNAUTHENTICATED_NON_LOOPBACK) {
    throw new ConfigError(
      `Refusing to listen on ${host} without trusted issuers: set CDS_TRUSTED_ISSUERS, or HOST=127.0.0.1, ` +
        'or (development only) CDS_ALLOW_UNAUTHENTICATED_NON_LOOPBACK=true',
    );
  }
  // Write-back sends patient data (and possibly a token): only to a server already trusted as a
  // FHIR server, so one allow-list governs where FHIR traffic may go.
  if (e.WRITEBACK_FHIR_SERVER !== undefined && !createOriginAllowList([...e.FHIR_SERVER_ALLOWLIST]).isAllowed(e.WRITEBACK_FHIR_SERVER)) {
    throw new ConfigError('WRITEBACK_FHIR_SERVER must be on FHIR_SERVER_ALLOWLIST');
  }
  if (e.WRITEBACK_BEARER_TOKEN !== undefined && e.WRITEBACK_FHIR_SERVER === undefined) {
    throw new ConfigError('WRITEBACK_BEARER_TOKEN is set but WRITEBACK_FHIR_SERVER is not');
  }
  const badCode = e.IMAGING_ORDER_CODES.find((c) => !/^[^|\s]+\|[^|\s]+$/.test(c));
  if (badCode !== undefined) throw new ConfigError(`IMAGING_ORDER_CODES: "${badCode}" is not system|code (e.g. http://www.ama-assn.org/go/cpt|71046)`);
  const dicomWebAllow = [...e.DICOMWEB_ALLOWLIST, ...(e.DICOMWEB_DEFAULT_ROOT === undefined ? [] : [e.DICOMWEB_DEFAULT_ROOT])];
  return Object.freeze({
    port: e.PORT,
    host,
    ops: Object.freeze({ port: e.OPS_PORT, host: e.OPS_HOST }),
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${e.PORT}`).replace(/\/+$/, ''),
    logLevel: e.LOG_LEVEL,
    trustedIssuers,
    unauthenticated,
    jwtClockSkewSeconds: e.CDS_JWT_CLOCK_SKEW_S,
    jwtLimits: Object.freeze({
      maxLifetimeSeconds: e.CDS_JWT_MAX_LIFETIME_S,
      maxTokenAgeSeconds: e.CDS_JWT_MAX_AGE_S,
      issuerRatePerSecond: e.CDS_ISSUER_RATE_LIMIT,
      issuerBurst: e.CDS_ISSUER_BURST,
      replayEntriesPerIssuer: e.CDS_REPLAY_CACHE_ENTRIES_PER_ISSUER,
    }),
    fhirServerAllowList: e.FHIR_SERVER_ALLOWLIST,
    fhir: Object.freeze({ timeoutMs: e.FHIR_TIMEOUT_MS, searchTimeoutMs: e.FHIR_SEARCH_TIMEOUT_MS, maxResponseBytes: e.FHIR_MAX_RESPONSE_BYTES, maxSearchBytes: e.FHIR_MAX_SEARCH_BYTES }),
    dicomWeb: Object.freeze({
      allowList: dicomWebAllow,
      defaultRoot: e.DICOMWEB_DEFAULT_ROOT,
      auth: pacsAuth(e),
      timeoutMs: e.DICOMWEB_TIMEOUT_MS,
      maxBytes: e.DICOMWEB_MAX_BYTES,
      jsonTimeoutMs: Math.min(e.DICOMWEB_JSON_TIMEOUT_MS, e.DICOMWEB_TIMEOUT_MS),
      maxJsonBytes: Math.min(e.DICOMWEB_JSON_MAX_BYTES, e.DICOMWEB_MAX_BYTES),
    }),
    modelsDir: e.MODELS_DIR,
    models: e.MODELS,
    saliency: e.SALIENCY,
    templatesDir: e.TEMPLATES_DIR,
    dataDir: e.DATA_DIR,
    ortProviders: e.ORT_PROVIDERS,
    ortIntraOpThreads: e.ORT_INTRA_OP_THREADS,
    corsOrigins: e.CORS_ORIGINS,
    bodyLimit: e.BODY_LIMIT,
    resultCacheSize: e.RESULT_CACHE_SIZE,
    priorStudyLookbackDays: e.PRIOR_STUDY_LOOKBACK_DAYS,
    recentStudyDays: e.RECENT_STUDY_DAYS,
    notAnalysedCards: e.NOT_ANALYSED_CARDS,
    imagingOrders: Object.freeze({ loincImagingCodes: new Set(e.IMAGING_ORDER_LOINC), codes: new Set(e.IMAGING_ORDER_CODES) }),
    viewerUrl: e.VIEWER_URL,
    smartViewerUrl: e.SMART_VIEWER_URL,
    viewer: viewerConfig(e, { trustedIssuers, projectRoot: PROJECT_ROOT }),
    writeBack:
      e.WRITEBACK_FHIR_SERVER === undefined
        ? undefined
        : Object.freeze({ fhirServer: e.WRITEBACK_FHIR_SERVER.replace(/\/+$/, ''), bearerToken: e.WRITEBACK_BEARER_TOKEN === '' ? undefined : e.WRITEBACK_BEARER_TOKEN, timeoutMs: e.WRITEBACK_TIMEOUT_MS }),
    pacsWriteBack: e.PACS_WRITE_BACK,
    resultIndexSize: e.RESULT_INDEX_SIZE,
    hookBudgetMs: e.HOOK_BUDGET_MS ?? DEFAULT_HOOK_BUDGET_MS,
    inProgressCards: e.IN_PROGRESS_CARDS,
    jobs: Object.freeze({
      redis: e.REDIS_URL === undefined ? undefined : Object.freeze({ url: e.REDIS_URL, prefix: e.REDIS_PREFIX }),
      concurrency: e.JOB_CONCURRENCY,
      capacity: e.JOB_QUEUE_CAPACITY,
      retries: e.JOB_RETRIES,
      retryDelayMs: e.JOB_RETRY_DELAY_MS,
      resultTtlSeconds: e.JOB_RESULT_TTL_S,
      failureTtlSeconds: e.JOB_FAILURE_TTL_S,
      lockMs: e.JOB_LOCK_MS,
    }),
    triggers: triggerConfig(e, trustedIssuers, dicomWebAllow),
  });
}
