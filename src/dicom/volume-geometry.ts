/**
 * Whether a set of slices forms one regular volume, and if not, why — in words a physician or
 * an integrator can act on. Slices are ordered by ImagePositionPatient projected on the slice
 * normal (never InstanceNumber); spacing comes from those positions, not from SliceThickness
 * or SpacingBetweenSlices, which scanners fill inconsistently.
 */
import type { Vec3 } from './series.js';
import { dot, sliceNormal } from './series.js';
import type { DicomImageInfo } from './types.js';

/** Tolerances of {@link analyseSliceGeometry}. */
export interface GeometryTolerances {
  /** Two orientations whose cosines differ by less than this are the same. Default 1e-3. */
  readonly orientation?: number;
  /** Spacing deviation from the median that still counts as uniform, relative. Default 0.05 (5 %). */
  readonly spacingRelative?: number;
  /** … or absolute, in mm, whichever is larger. Default 0.1 mm (positions are often rounded to 0.1 mm). */
  readonly spacingAbsolute?: number;
  /** A step larger than this multiple of the median spacing is a gap (missing slices). Default 1.5. */
  readonly gapFactor?: number;
  /** In-plane drift of slice origins (gantry tilt, shear) tolerated, in pixels. Default 0.5. */
  readonly inPlanePixels?: number;
}

/** The geometry of an ordered stack of slices, with the problems that stop it being a regular volume. */
export interface SliceGeometry<T> {
  /** Items in spatial order (ascending position along the normal), as far as they could be ordered. */
  readonly ordered: readonly T[];
  /** Position of each ordered slice along the normal, mm. */
  readonly positions: readonly number[];
  /** Unit row direction, column direction and slice normal (undefined when orientation is missing or mixed). */
  readonly directions: { readonly row: Vec3; readonly column: Vec3; readonly normal: Vec3 } | undefined;
  /** Median distance between consecutive slices, mm (undefined for fewer than 2 slices). */
  readonly sliceSpacing: number | undefined;
  /** PixelSpacing: [between rows (y), between columns (x)], mm. */
  readonly pixelSpacing: readonly [number, number] | undefined;
  /** Everything that prevents a regular volume; empty when it is one. */
  readonly problems: readonly string[];
}

const DEFAULTS: Required<GeometryTolerances> = { orientation: 1e-3, spacingRelative: 0.05, spacingAbsolute: 0.1, gapFactor: 1.5, inPlanePixels: 0.5 };

/**
 * Orders slices along their normal and checks that they form one regular volume: every slice
 * has a position and orientation, all share one orientation, size and pixel spacing, no two
 * share a position, spacing is uniform, no slice is missing, and slice origins do not drift in
 * the plane (gantry tilt). Each failed check adds one readable problem.
 */
export function analyseSliceGeometry<T extends { readonly info: DicomImageInfo }>(items: readonly T[], tolerances: GeometryTolerances = {}): SliceGeometry<T> {
  const tol = { ...DEFAULTS, ...stripUndefined(tolerances) };
  const problems: string[] = [];
  const infos = items.map((i) => i.info);
  if (items.length === 0) return { ordered: [], positions: [], directions: undefined, sliceSpacing: undefined, pixelSpacing: undefined, problems: ['the series has no slices'] };

  const multiFrame = infos.filter((i) => i.numberOfFrames > 1).length;
  if (multiFrame > 0) problems.push(`${multiFrame} instance(s) are multi-frame; a volume is built from single-frame slices`);
  const sizes = countBy(infos, (i) => `${i.columns} × ${i.rows}`);
  if (sizes.size > 1) problems.push(`slices have ${sizes.size} different sizes (${describeCounts(sizes)})`);
  const spacings = countBy(infos, (i) => (i.pixelSpacing === undefined ? 'none' : i.pixelSpacing.map((v) => v.toFixed(3)).join(' × ')));
  if (spacings.size > 1) problems.push(`slices have ${spacings.size} different pixel spacings (${describeCounts(spacings)} mm)`);
  if (spacings.has('none')) problems.push(`${spacings.get('none') ?? 0} slice(s) have no PixelSpacing (0028,0030)`);
  const pixelSpacing = infos[0]?.pixelSpacing;

  const missing = infos.filter((i) => i.imagePositionPatient === undefined || i.imageOrientationPatient === undefined).length;
  if (missing > 0) {
    problems.push(`${missing} of ${items.length} slice(s) have no ImagePositionPatient/ImageOrientationPatient, so they cannot be placed in space`);
    return { ordered: [...items], positions: [], directions: undefined, sliceSpacing: undefined, pixelSpacing, problems };
  }
  const orientations = groupOrientations(infos, tol.orientation);
  if (orientations.length > 1) {
    const list = orientations.map((o) => `[${o.orientation.map((v) => round(v, 3)).join(', ')}] × ${o.count}`).join('; ');
    problems.push(`slices have ${orientations.length} different orientations (${list}): a localizer or several stacks in one series`);
    return { ordered: [...items], positions: [], directions: undefined, sliceSpacing: undefined, pixelSpacing, problems };
  }
  const iop = infos[0]?.imageOrientationPatient as NonNullable<DicomImageInfo['imageOrientationPatient']>;
  const row = unit([iop[0], iop[1], iop[2]]);
  const column = unit([iop[3], iop[4], iop[5]]);
  const normal = unit(sliceNormal(iop));
  const keyed = items.map((item, index) => ({ item, index, d: dot(item.info.imagePositionPatient as Vec3, normal) }));
  keyed.sort((a, b) => a.d - b.d || a.index - b.index);
  const ordered = keyed.map((k) => k.item);
  const positions = keyed.map((k) => k.d);

  const steps = positions.slice(1).map((p, i) => p - (positions[i] as number));
  const duplicates = steps.filter((s) => s < 1e-3).length;
  if (duplicates > 0) problems.push(`${duplicates} slice(s) share a position with another (duplicates, or several acquisitions in one series)`);
  const distinct = steps.filter((s) => s >= 1e-3);
  const sliceSpacing = distinct.length > 0 ? median(distinct) : undefined;
  if (sliceSpacing !== undefined) {
    const allowed = Math.max(tol.spacingAbsolute, tol.spacingRelative * sliceSpacing);
    const gaps = steps.map((s, i) => ({ s, i })).filter(({ s }) => s > tol.gapFactor * sliceSpacing);
    for (const { s, i } of gaps.slice(0, 3)) {
      problems.push(`gap of ${round(s, 2)} mm between slices ${i + 1} and ${i + 2} (spacing is ${round(sliceSpacing, 2)} mm): about ${Math.round(s / sliceSpacing) - 1} slice(s) missing`);
    }
    if (gaps.length > 3) problems.push(`${gaps.length - 3} more gap(s)`);
    const irregular = distinct.filter((s) => s <= tol.gapFactor * sliceSpacing && Math.abs(s - sliceSpacing) > allowed);
    if (irregular.length > 0) {
      problems.push(
        `slice spacing is not uniform: from ${round(Math.min(...distinct), 2)} to ${round(Math.max(...distinct), 2)} mm ` +
          `(median ${round(sliceSpacing, 2)} mm, tolerance ± ${round(allowed, 2)} mm)`,
      );
    }
  }
  const drift = inPlaneDrift(ordered.map((i) => i.info.imagePositionPatient as Vec3), row, column);
  const pixel = pixelSpacing === undefined ? 1 : Math.min(pixelSpacing[0], pixelSpacing[1]);
  if (drift > tol.inPlanePixels * pixel) {
    problems.push(`slice origins drift ${round(drift, 2)} mm within the image plane (gantry tilt or shear); the stack is not a rectilinear volume`);
  }
  return { ordered, positions, directions: { row, column, normal }, sliceSpacing, pixelSpacing, problems };
}

/** Largest in-plane offset of any slice origin from the first, along the row and column directions. */
function inPlaneDrift(origins: readonly Vec3[], row: Vec3, column: Vec3): number {
  const first = origins[0];
  if (first === undefined) return 0;
  let max = 0;
  for (const o of origins) {
    const delta: Vec3 = [o[0] - first[0], o[1] - first[1], o[2] - first[2]];
    max = Math.max(max, Math.hypot(dot(delta, row), dot(delta, column)));
  }
  return max;
}

function groupOrientations(infos: readonly DicomImageInfo[], tolerance: number): { orientation: readonly number[]; count: number }[] {
  const groups: { orientation: readonly number[]; count: number }[] = [];
  for (const info of infos) {
    const o = info.imageOrientationPatient as readonly number[];
    const group = groups.find((g) => g.orientation.every((v, i) => Math.abs(v - (o[i] as number)) < tolerance));
    if (group === undefined) groups.push({ orientation: o, count: 1 });
    else group.count++;
  }
  return groups;
}

function unit(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return n > 0 ? [v[0] / n, v[1] / n, v[2] / n] : v;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function describeCounts(counts: ReadonlyMap<string, number>): string {
  return [...counts].map(([k, n]) => `${k} × ${n}`).join(', ');
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
