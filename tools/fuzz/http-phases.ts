/**
 * The phases over HTTP: the request mutations against two stacks (unauthenticated and
 * authenticated), then the DICOM-over-HTTP sample against a third stack of its own. Anything
 * the services throw outside a request (an uncaught exception or unhandled rejection in this
 * process) is a crash.
 */
import type { FuzzArgs } from './args.js';
import { runDicomHttpPhase } from './dicom-http.js';
import type { DicomPool } from './dicom-pool.js';
import type { SeedGroup } from './dicom-seeds.js';
import { startTarget, startTargets } from './fuzz-stack.js';
import type { Report } from './report.js';
import { runRequestPhase } from './request-phase.js';

export interface HttpPhaseOptions {
  readonly args: FuzzArgs;
  readonly groups: readonly SeedGroup[];
  readonly pool: DicomPool;
  readonly report: Report;
  readonly progress: (line: string) => void;
  readonly dicomCases: number;
  readonly requestCases: number;
}

export async function runHttpPhases(o: HttpPhaseOptions): Promise<void> {
  const t0 = Date.now();
  const { report } = o;
  let phase = 'starting the services';
  const crash = (what: string) => (err: unknown): void => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    report.fail({ kind: 'crash', where: `service process (${phase})`, title: `${what}: ${text.split('\n')[0] ?? ''}`, detail: text, reproduce: [`node dist/tools/fuzz/run.js --seed ${report.seed}   (the cases in flight are in the progress log; rerun the phase)`] });
  };
  const onException = crash('uncaught exception');
  const onRejection = crash('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  try {
    if (o.requestCases > 0) {
      const { targets, close } = await startTargets();
      report.timings.set('starting the two request-phase stacks (Orthanc, FHIR server, service)', Date.now() - t0);
      o.progress(`services up: unauthenticated on 127.0.0.1:${targets.noauth.port}, authenticated on 127.0.0.1:${targets.auth.port}`);
      phase = 'requests';
      try {
        await runRequestPhase({ cases: o.requestCases, only: o.args.onlyRequest, targets, concurrency: o.args.concurrency, timeoutMs: o.args.httpTimeoutMs, report, progress: o.progress });
      } finally {
        phase = 'stopping';
        await close();
      }
    }
    if (o.dicomCases > 0) {
      phase = 'dicom-http';
      // Its own stack: stored mutations and evicted cache entries stay out of the request phase.
      await runDicomHttpPhase({ cases: o.dicomCases, only: o.args.onlyDicomHttp, groups: o.groups, pool: o.pool, start: () => startTarget('noauth', undefined), timeoutMs: o.args.httpTimeoutMs, report, progress: o.progress });
    }
  } finally {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  }
}
