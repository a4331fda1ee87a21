/**
 * Builds the viewer's and the operations page's parts from the configuration and the running
 * service's dependencies (called by main.ts, and by the browser tests the same way).
 */
import path from 'node:path';
import { createOriginAllowList } from '../auth/index.js';
import type { FeedbackStore } from '../audit/index.js';
import type { CdsService } from '../cds/index.js';
import { AppError } from '../errors.js';
import { createAccessTokenVerifier } from './access-token.js';
import type { ViewerLaunchConfig } from './api-types.js';
import { createAuthServers } from './auth-servers.js';
import { createCardLedger, type CardLedger } from './card-ledger.js';
import { createFailureLog, type FailureLog } from './failures.js';
import type { MetricJson, OpsSources } from './ops-summary.js';
import type { ModelCardInfo } from './result-view.js';
import type { ViewerConfig, ViewerSession } from './types.js';

/** What the /viewer routes need. */
export interface ViewerServices {
  readonly assetsDir: string;
  readonly ledger: CardLedger;
  readonly modelCards: ReadonlyMap<string, ModelCardInfo>;
  /** Origins the page may call besides its own (the authorization servers' token endpoints). */
  readonly connectOrigins: readonly string[];
  /** @throws AppError `SMART_LAUNCH_REJECTED` for an `iss` that is not a launch issuer */
  launchConfig(iss: unknown): Promise<ViewerLaunchConfig>;
  verify(authorization: string | undefined): Promise<ViewerSession>;
}

export interface ViewerParts {
  /** The CDS services, each answer's result cards recorded in the ledger. */
  readonly services: readonly CdsService[];
  readonly viewer: ViewerServices;
  readonly failures: FailureLog;
  readonly ops: OpsSources & { readonly assetsDir: string };
}

export interface ViewerInputs {
  readonly config: ViewerConfig;
  readonly clockSkewSeconds: number;
  /** How many result cards are remembered (the results index's size). */
  readonly capacity: number;
  readonly services: readonly CdsService[];
  readonly feedback: FeedbackStore;
  readonly readiness: OpsSources['readiness'];
  readonly metrics: () => Promise<readonly MetricJson[]>;
  /** The models loaded in this process (none on a front whose workers run them). */
  readonly modelCards: readonly ModelCardInfo[];
  readonly now?: () => Date;
  /** Where the card ledger keeps its journal (DATA_DIR); absent: in memory only. */
  readonly dataDir?: string | undefined;
}

/** Wraps each service so that the result cards of its answers are recorded. */
function recorded(services: readonly CdsService[], ledger: CardLedger, now: () => Date): CdsService[] {
  return services.map((s) => ({
    definition: s.definition,
    async handle(request, ctx) {
      const response = await s.handle(request, ctx);
      ledger.observe(s.definition.id, response, now());
      return response;
    },
  }));
}

/**
 * @param inputs - configuration and the service's running parts
 */
export function buildViewer(inputs: ViewerInputs): ViewerParts {
  const { config } = inputs;
  const now = inputs.now ?? (() => new Date());
  const ledger = createCardLedger(inputs.capacity, inputs.dataDir === undefined ? undefined : path.join(inputs.dataDir, 'cards.jsonl'));
  const failures = createFailureLog(50);
  const servers = createAuthServers(config.launchIssuers, { allowList: createOriginAllowList([...config.authAllowList]), timeoutMs: config.fetchTimeoutMs, maxBytes: config.fetchMaxBytes });
  const verifier = createAccessTokenVerifier(servers, inputs.clockSkewSeconds);
  const modelCards = new Map(inputs.modelCards.map((m) => [`${m.id}|${m.version}`, m]));
  return {
    services: recorded(inputs.services, ledger, now),
    failures,
    viewer: {
      assetsDir: config.assetsDir,
      ledger,
      modelCards,
      connectOrigins: [...new Set(config.authAllowList.map((u) => new URL(u).origin))],
      async launchConfig(iss) {
        const launch = typeof iss === 'string' ? servers.launchFor(iss) : undefined;
        if (launch === undefined) throw new AppError('SMART_LAUNCH_REJECTED', 'this FHIR server (iss) may not launch the viewer: it is not in SMART_LAUNCH_ISSUERS', { expression: 'iss' });
        const m = await servers.metadata(launch);
        return { authorizationEndpoint: m.authorizationEndpoint, tokenEndpoint: m.tokenEndpoint, clientId: launch.clientId, scope: config.scope };
      },
      verify: (authorization) => verifier.verify(authorization),
    },
    ops: {
      assetsDir: config.assetsDir,
      readiness: inputs.readiness,
      metrics: inputs.metrics,
      feedback: inputs.feedback,
      ledger,
      failures,
      versions: new Map(inputs.modelCards.map((m) => [m.id, m.version])),
    },
  };
}
