/**
 * A cine short-axis MR series as slices × cardiac phases: every image is placed by its position
 * along the slice normal (ImagePositionPatient on ImageOrientationPatient's normal) and by its
 * place in the cardiac cycle (TemporalPositionIdentifier, else TriggerTime, else InstanceNumber).
 * What cannot be measured reliably is refused with the reason: mixed orientations, a slice with
 * fewer phases than the others, missing slices (gaps), non-uniform spacing, no pixel spacing.
 * Volumes in mL need PixelSpacing and the slice spacing, both checked here.
 */
import { dot, sliceNormal, type Vec3 } from './series.js';
import { analyseSliceGeometry, type GeometryTolerances } from './volume-geometry.js';
import type { DicomImageInfo } from './types.js';

/** The series as slices × phases, or the problems that stop it. */
export interface CineGeometry<T> {
  /** `phases[p][s]`: the image of phase p at slice s (slices base to apex or apex to base, along the normal). */
  readonly phases: readonly (readonly T[])[];
  /** Position of each slice along the normal, mm. */
  readonly slicePositions: readonly number[];
  /** Distance between neighbouring slices, mm (undefined for one slice). */
  readonly sliceSpacing: number | undefined;
  /** PixelSpacing: [between rows, between columns], mm. */
  readonly pixelSpacing: readonly [number, number] | undefined;
  /** Trigger time of each phase (ms, median over the slices), when the images carry one. */
  readonly triggerTimes: readonly (number | undefined)[];
  /** Everything that prevents measuring volumes; empty when the series is a regular cine stack. */
  readonly problems: readonly string[];
}

/** Slices closer than this along the normal are one slice position. */
const SAME_POSITION_MM = 0.01;

/** The image's place in the cardiac cycle, for ordering the phases of one slice. */
function temporalKey(info: DicomImageInfo): number {
  return info.temporalPositionIdentifier ?? info.triggerTime ?? info.instanceNumber ?? 0;
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Groups images by slice position along `normal`, in ascending position. */
function bySlicePosition<T extends { readonly info: DicomImageInfo }>(items: readonly T[], normal: Vec3): { position: number; items: T[] }[] {
  const keyed = items.map((item) => ({ item, d: dot(item.info.imagePositionPatient as Vec3, normal) })).sort((a, b) => a.d - b.d);
  const groups: { position: number; items: T[] }[] = [];
  for (const { item, d } of keyed) {
    const last = groups[groups.length - 1];
    if (last !== undefined && Math.abs(d - last.position) < SAME_POSITION_MM) last.items.push(item);
    else groups.push({ position: d, items: [item] });
  }
  return groups;
}

/**
 * Arranges a cine series.
 *
 * @param items - the decoded (or header-only) images of one series, any order
 * @param tolerances - slice-geometry tolerances (volume-geometry.ts)
 */
export function analyseCineSeries<T extends { readonly info: DicomImageInfo }>(items: readonly T[], tolerances: GeometryTolerances = {}): CineGeometry<T> {
  const empty = { phases: [], slicePositions: [], sliceSpacing: undefined, pixelSpacing: items[0]?.info.pixelSpacing, triggerTimes: [] };
  const located = items.filter((i) => i.info.imagePositionPatient !== undefined && i.info.imageOrientationPatient !== undefined);
  if (items.length === 0) return { ...empty, problems: ['the series has no images'] };
  if (located.length < items.length) return { ...empty, problems: [`${items.length - located.length} of ${items.length} image(s) have no ImagePositionPatient/ImageOrientationPatient`] };
  const orientation = located[0]?.info.imageOrientationPatient as NonNullable<DicomImageInfo['imageOrientationPatient']>;
  const mixed = located.some((i) => i.info.imageOrientationPatient?.some((v, k) => Math.abs(v - (orientation[k] as number)) > 1e-3));
  if (mixed) return { ...empty, problems: ['the images have different orientations (a localizer, or long- and short-axis images in one series)'] };
  const slices = bySlicePosition(located, sliceNormal(orientation)).map((g) => ({ ...g, items: [...g.items].sort((a, b) => temporalKey(a.info) - temporalKey(b.info)) }));
  const problems: string[] = [];
  const counts = slices.map((s) => s.items.length);
  const phaseCount = Math.max(...counts);
  const short = slices.filter((s) => s.items.length !== phaseCount);
  if (short.length > 0) problems.push(`${short.length} slice position(s) have fewer cardiac phases than the others (${Math.min(...counts)} instead of ${phaseCount}): images are missing`);
  const declared = located[0]?.info.numberOfTemporalPositions;
  if (declared !== undefined && declared !== phaseCount) problems.push(`the images declare ${declared} temporal positions but ${phaseCount} were found`);
  if (phaseCount < 2) problems.push('the series has one cardiac phase: it is not a cine series');
  const phases = Array.from({ length: phaseCount }, (_, p) => slices.map((s) => s.items[p]).filter((x): x is T => x !== undefined));
  // Spacing, gaps, size and pixel spacing, checked on the first phase (every phase has the same positions).
  const geometry = analyseSliceGeometry(phases[0] ?? [], tolerances);
  problems.push(...geometry.problems);
  if (slices.length < 2) problems.push('the series has one slice position: volumes cannot be measured');
  const triggerTimes = phases.map((phase) => median(phase.map((i) => i.info.triggerTime).filter((t): t is number => t !== undefined)));
  return { phases, slicePositions: slices.map((s) => s.position), sliceSpacing: geometry.sliceSpacing, pixelSpacing: geometry.pixelSpacing, triggerTimes, problems };
}
