/**
 * Reads a V8 CPU profile (`node --cpu-prof`, a `.cpuprofile` file: the main thread only, sampled)
 * and says where the time went: self time by area (the package or part of Node a function
 * belongs to), the functions with the most self time, and the service's and libraries' functions
 * with the most inclusive time (the function and everything it called).
 * Work done off the main thread (WebCrypto signature checks on libuv's thread pool) is not
 * sampled: while the main thread waits for it, the profile says "(idle)" or "(program)".
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  /** Sampled wall time of the main thread (in the window), ms. */
  readonly totalMs: number;
  /** [area, ms] by self time, largest first. */
  readonly areas: readonly (readonly [string, number])[];
  /** [function @ place, ms] by self time, largest first. */
  readonly selfTop: readonly (readonly [string, number])[];
  /** [area, ms] by inclusive time (any frame of the area on the stack), largest first. */
  readonly areasInclusive: readonly (readonly [string, number])[];
  /** [function @ place, ms] by inclusive time, service and library frames only, largest first. */
  readonly inclusiveTop: readonly (readonly [string, number])[];
}

/** The package (or Node part) a frame belongs to. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(idle)') return '(idle: waiting, e.g. for the thread pool)';
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(program)') return '(program: V8/native, not JS)';
    return `native ${functionName === '' ? '(anonymous)' : functionName}`;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg !== undefined) return pkg;
  const own = /\/dist\/(src\/[^/]+)/.exec(url)?.[1];
  if (own !== undefined) return own.replace(/\.js$/, '');
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').replace(/\/[^/]+$/, '').replace(/^node:(streams|http|crypto|fs|url|process|util).*$/, 'node:$1');
  return url;
}

const place = (f: CallFrame): string => {
  const short = f.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^node:internal\//, 'node:');
  return `${f.functionName === '' ? '(anonymous)' : f.functionName} @ ${short === '' ? '-' : `${short}:${f.lineNumber + 1}`}`;
};

const isNamedCode = (f: CallFrame): boolean => f.url.includes('/dist/src/') || f.url.includes('/node_modules/');

const sortDesc = (m: ReadonlyMap<string, number>, top: number): (readonly [string, number])[] =>
  [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);

/**
 * Summarises one `.cpuprofile` file.
 *
 * @param window - only samples taken in [fromUs, toUs] of the monotonic clock (what
 *   `process.hrtime.bigint() / 1000n` reads in any process on the machine, and what V8 stamps
 *   samples with on Linux); the whole profile when undefined
 */
export function summariseProfile(file: string, window?: { readonly fromUs: number; readonly toUs: number }, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const areas = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areasInclusive = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number): void => {
    m.set(k, (m.get(k) ?? 0) + v);
  };
  let at = profile.startTime;
  let sampledMs = 0;
  // Sample i lasted until sample i + 1 (timeDeltas[i + 1], µs), as DevTools counts it.
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return;
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    sampledMs += ms;
    const node = byId.get(id);
    if (node === undefined) return;
    add(areas, areaOf(node.callFrame), ms);
    add(self, place(node.callFrame), ms);
    const seen = new Set<string>();
    const seenAreas = new Set<string>();
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const frame = byId.get(up)?.callFrame;
      if (frame === undefined) continue;
      const area = areaOf(frame);
      if (!seenAreas.has(area) && frame.functionName !== '(root)') {
        seenAreas.add(area);
        add(areasInclusive, area, ms);
      }
      if (!isNamedCode(frame)) continue;
      const key = place(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, ms);
    }
  });
  return { totalMs: sampledMs, areas: sortDesc(areas, top), areasInclusive: sortDesc(areasInclusive, top + 5), selfTop: sortDesc(self, top), inclusiveTop: sortDesc(inclusive, top) };
}
