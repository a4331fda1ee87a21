/**
 * Command line of the fuzzer (README.md in this folder lists every flag).
 */

export interface FuzzArgs {
  readonly seed: number;
  readonly dicom: number;
  /** DICOM cases also sent through the whole service (Orthanc + result hook). */
  readonly dicomHttp: number;
  readonly requests: number;
  readonly workers: number;
  /** In-flight HTTP requests. */
  readonly concurrency: number;
  readonly dicomTimeoutMs: number;
  readonly httpTimeoutMs: number;
  readonly rssLimitMb: number;
  readonly onlyDicom: number | undefined;
  readonly onlyDicomHttp: number | undefined;
  readonly onlyRequest: number | undefined;
  /** Replay one saved file through the dicom API in this process. */
  readonly replay: string | undefined;
  readonly api: string | undefined;
  readonly windowing: string | undefined;
  readonly smallLimits: boolean;
}

export const USAGE = `usage: node dist/tools/fuzz/run.js [--seed N] [--dicom 10000] [--dicom-http N] [--requests 10000]
       [--workers 2] [--concurrency 4] [--dicom-timeout-ms 10000] [--http-timeout-ms 30000] [--rss-limit-mb 6144]
       [--only-dicom I | --only-dicom-http I | --only-request I]
       node dist/tools/fuzz/run.js --replay FILE [--api loadInstanceFrames|parseDicom+decodeFrames|parseDicom+decodeFrame] [--windowing dicom|minmax|fixed] [--limits small]`;

const DEFAULT_SEED = 20261123;

function int(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min) throw new Error(`${name} needs an integer ≥ ${min}\n${USAGE}`);
  return n;
}

/** Parses argv (without node and the script). Throws with the usage on a bad flag. */
export function parseArgs(argv: readonly string[]): FuzzArgs {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)}\n${USAGE}`);
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (a === '--help') throw new Error(USAGE);
    else flags.set(a.slice(2), argv[++i] ?? '');
  }
  const known = ['seed', 'dicom', 'dicom-http', 'requests', 'workers', 'concurrency', 'dicom-timeout-ms', 'http-timeout-ms', 'rss-limit-mb', 'only-dicom', 'only-dicom-http', 'only-request', 'replay', 'api', 'windowing', 'limits'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k}\n${USAGE}`);
  const opt = (name: string, min: number): number | undefined => (flags.has(name) ? int(`--${name}`, flags.get(name), min) : undefined);
  const dicom = opt('dicom', 0) ?? 10_000;
  const limits = flags.get('limits');
  if (limits !== undefined && limits !== 'small') throw new Error(`--limits takes only "small"\n${USAGE}`);
  return {
    seed: opt('seed', 0) ?? DEFAULT_SEED,
    dicom,
    dicomHttp: opt('dicom-http', 0) ?? Math.ceil(dicom / 10),
    requests: opt('requests', 0) ?? 10_000,
    workers: opt('workers', 1) ?? 2,
    concurrency: opt('concurrency', 1) ?? 4,
    dicomTimeoutMs: opt('dicom-timeout-ms', 100) ?? 10_000,
    httpTimeoutMs: opt('http-timeout-ms', 100) ?? 30_000,
    rssLimitMb: opt('rss-limit-mb', 256) ?? 6144,
    onlyDicom: opt('only-dicom', 0),
    onlyDicomHttp: opt('only-dicom-http', 0),
    onlyRequest: opt('only-request', 0),
    replay: flags.get('replay'),
    api: flags.get('api'),
    windowing: flags.get('windowing'),
    smallLimits: limits === 'small',
  };
}
