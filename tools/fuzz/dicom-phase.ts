/**
 * Phase 1: seeded mutations of real DICOM files through the public dicom API, in worker
 * threads with a time limit per case. Every outcome must be a decoded image or an AppError
 * with a DICOM_* code.
 */
import type { DicomCheckOptions } from './dicom-check.js';
import { mutateDicom, type MutatedDicom } from './dicom-mutate.js';
import type { DicomPool, PoolResult } from './dicom-pool.js';
import { pickSeed, type SeedFile, type SeedGroup } from './dicom-seeds.js';
import { randomFor, type Random } from './random.js';
import type { FailureKind, Report } from './report.js';

/** Small limits, so that some cases meet DICOM_TOO_LARGE from ordinary files. */
export const SMALL_LIMITS = { maxPixels: 64 * 64, maxInflatedBytes: 16 * 1024 } as const;

/** One generated case: where it started, what was done, how it is checked. */
export interface DicomCase {
  readonly index: number;
  readonly seed: SeedFile;
  readonly mutated: MutatedDicom;
  readonly options: DicomCheckOptions;
}

export function checkOptions(r: Random): DicomCheckOptions {
  return {
    api: r.pick(['loadInstanceFrames', 'parseDicom+decodeFrames', 'parseDicom+decodeFrame'] as const),
    limits: r.chance(0.15) ? SMALL_LIMITS : undefined,
    windowing: r.pick(['dicom', 'dicom', 'minmax', 'fixed'] as const),
  };
}

/** Case `index` of stream `stream` (the same seed always gives the same case). */
export function dicomCase(runSeed: number, stream: number, index: number, groups: readonly SeedGroup[], prepare?: (seed: SeedFile, r: Random) => Uint8Array): DicomCase {
  const r = randomFor(runSeed, stream, index);
  const seed = pickSeed(groups, r);
  const other = pickSeed(groups, r);
  const start = prepare === undefined ? seed.bytes : prepare(seed, r);
  return { index, seed, mutated: mutateDicom(start, other.bytes, r), options: checkOptions(r) };
}

/** The command lines that replay a case. */
export function replayLines(file: string, c: DicomCase, runSeed: number, flag: string): string[] {
  const limits = c.options.limits === undefined ? '' : ' --limits small';
  return [
    `node dist/tools/fuzz/run.js --replay ${file} --api ${c.options.api} --windowing ${c.options.windowing}${limits}`,
    `node dist/tools/fuzz/run.js --seed ${runSeed} ${flag} ${c.index}   (regenerates the same case and runs it alone)`,
  ];
}

const FAILING: ReadonlySet<string> = new Set(['crash', 'hang', 'memory']);

/** Counts one local outcome; records a failure or a note with the saved bytes. */
export function recordLocal(report: Report, c: DicomCase, result: PoolResult, label: string, flag: string): void {
  report.count('dicom', result.outcome);
  if (result.ms > 2000 && !FAILING.has(result.outcome)) report.note('slow DICOM case (> 2 s)', { where: `${label} ${c.index}`, text: `${Math.round(result.ms)} ms, ${c.seed.name}, ${c.mutated.notes.join('; ')}` });
  if (result.outcome === 'bad-image') {
    const file = report.save(`${label.replace(/ /g, '-')}-${c.index}.dcm`, c.mutated.bytes);
    report.note('decoded image out of range', { where: `${label} ${c.index}`, text: `${result.detail} (${c.seed.name}; ${c.mutated.notes.join('; ')}; ${file})` });
  }
  if (!FAILING.has(result.outcome)) return;
  const file = report.save(`${label.replace(/ /g, '-')}-${c.index}.dcm`, c.mutated.bytes);
  report.fail({
    kind: result.outcome as FailureKind,
    where: `${label} ${c.index}`,
    title: `${result.outcome} in ${c.options.api} on a mutation of ${c.seed.name}`,
    detail: [`mutations: ${c.mutated.notes.join('; ')}`, `options: ${JSON.stringify(c.options)}`, result.detail].join('\n'),
    reproduce: [`mutated file: ${file}`, ...replayLines(file, c, report.seed, flag)],
  });
}

export interface DicomPhaseOptions {
  readonly cases: number;
  /** Run only this case (replay). */
  readonly only: number | undefined;
  readonly groups: readonly SeedGroup[];
  readonly pool: DicomPool;
  /** Cases kept in flight (the pool runs as many as it has threads). */
  readonly inFlight: number;
  readonly report: Report;
  readonly progress: (line: string) => void;
}

export async function runDicomPhase(o: DicomPhaseOptions, stream: number): Promise<void> {
  const t0 = Date.now();
  const indices = o.only === undefined ? Array.from({ length: o.cases }, (_, i) => i) : [o.only];
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let i = indices[next++]; i !== undefined; i = indices[next++]) {
      const c = dicomCase(o.report.seed, stream, i, o.groups);
      const result = await o.pool.run(c.mutated.bytes, c.options);
      recordLocal(o.report, c, result, 'dicom case', '--only-dicom');
      done++;
      if (done % 1000 === 0) o.progress(`dicom: ${done}/${indices.length} cases, ${(done / ((Date.now() - t0) / 1000)).toFixed(0)}/s`);
    }
  };
  await Promise.all(Array.from({ length: o.inFlight }, () => worker()));
  o.report.timings.set(`dicom (${indices.length} cases through the dicom API)`, Date.now() - t0);
}
