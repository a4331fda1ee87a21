/**
 * The fuzz command (not part of CI): seeded DICOM mutations through the dicom API and, for a
 * sample, through the whole service over HTTP; seeded request mutations against the running
 * service on loopback, authenticated and not. Prints outcome counts; exits 1 when any case
 * ended in a 5xx, a crash, a hang, a memory blow-up or a dropped connection, listing each with
 * its reproduction.
 *
 *   npm run fuzz -- --seed 7 --dicom 10000 --requests 10000
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { PROJECT_ROOT } from '../../src/config.js';
import { parseArgs, type FuzzArgs } from './args.js';
import { checkDicom, type DicomCheckOptions } from './dicom-check.js';
import { SMALL_LIMITS, runDicomPhase } from './dicom-phase.js';
import { createDicomPool } from './dicom-pool.js';
import { loadSeedGroups } from './dicom-seeds.js';
import { runHttpPhases } from './http-phases.js';
import { STREAM } from './random.js';
import { Report } from './report.js';

const progress = (line: string): void => {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

/** --replay: one saved file through the dicom API in this process (a crash shows its own stack). */
function replay(args: FuzzArgs, file: string): number {
  const api = (args.api ?? 'loadInstanceFrames') as DicomCheckOptions['api'];
  const windowing = (args.windowing ?? 'dicom') as DicomCheckOptions['windowing'];
  const result = checkDicom(new Uint8Array(readFileSync(file)), { api, windowing, limits: args.smallLimits ? SMALL_LIMITS : undefined });
  process.stdout.write(`${file}: ${result.outcome}\n${result.detail}\n`);
  return ['decoded'].includes(result.outcome) || result.outcome.startsWith('DICOM_') ? 0 : 1;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // The services run in this process: deeper stacks in their error logs name the module at fault.
  Error.stackTraceLimit = 30;
  if (args.replay !== undefined) return replay(args, args.replay);
  const report = new Report(args.seed);
  const onlyOne = args.onlyDicom !== undefined || args.onlyDicomHttp !== undefined || args.onlyRequest !== undefined;
  progress(`seed ${args.seed}; ${availableParallelism()} cores; Node ${process.version}`);
  const groups = loadSeedGroups(PROJECT_ROOT);
  progress(`seeds: ${groups.map((g) => `${g.files.length} from ${g.label}`).join(', ')}`);
  const pool = createDicomPool({ workers: args.workers, timeoutMs: args.dicomTimeoutMs, rssLimitBytes: args.rssLimitMb * 2 ** 20, heapMb: 2048 });
  try {
    if (!onlyOne || args.onlyDicom !== undefined) {
      await runDicomPhase({ cases: args.dicom, only: args.onlyDicom, groups, pool, inFlight: args.workers * 2, report, progress }, STREAM.dicom);
    }
    const http = !onlyOne ? { dicom: args.dicomHttp, requests: args.requests } : { dicom: args.onlyDicomHttp === undefined ? 0 : 1, requests: args.onlyRequest === undefined ? 0 : 1 };
    if (http.dicom + http.requests > 0) await runHttpPhases({ args, groups, pool, report, progress, dicomCases: http.dicom, requestCases: http.requests });
  } finally {
    await pool.close();
  }
  const summary = report.summary();
  process.stdout.write(`${summary}\n`);
  if (report.failures.length > 0 || Object.keys(report.allNotes()).length > 0) {
    const file = report.save('report.json', JSON.stringify({ seed: args.seed, failures: report.failures, notes: report.allNotes() }, null, 2));
    report.save('summary.txt', summary);
    process.stdout.write(`full report: ${file}\n`);
  }
  return report.failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
