/**
 * Ordering the instances of a series in space. CT/MR slices are ordered by their position
 * along the slice normal (from ImageOrientationPatient), never by InstanceNumber or arrival
 * order, which scanners and PACS do not keep consistent.
 */
import type { DicomImageInfo } from './types.js';

/** A 3-vector in patient coordinates (mm). */
export type Vec3 = readonly [number, number, number];

/** Row direction × column direction of an ImageOrientationPatient: the slice normal. */
export function sliceNormal(orientation: readonly [number, number, number, number, number, number]): Vec3 {
  const [r0, r1, r2, c0, c1, c2] = orientation;
  return [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
}

/** Dot product. */
export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/**
 * Sorts items by ImagePositionPatient projected on the slice normal (ascending), when every
 * item has a position and all share one orientation; otherwise by InstanceNumber, then by
 * input order. Returns a new array.
 */
export function sortBySlicePosition<T extends { readonly info: DicomImageInfo }>(items: readonly T[]): T[] {
  const normal = commonNormal(items.map((i) => i.info));
  const indexed = items.map((item, index) => ({ item, index, key: sortKey(item.info, normal) }));
  indexed.sort((a, b) => compareKeys(a.key, b.key) || a.index - b.index);
  return indexed.map((e) => e.item);
}

/** The normal of the shared orientation, or undefined when any item lacks position/orientation. */
function commonNormal(infos: readonly DicomImageInfo[]): Vec3 | undefined {
  const first = infos[0]?.imageOrientationPatient;
  if (first === undefined) return undefined;
  const sameOrientation = infos.every(
    (info) => info.imagePositionPatient !== undefined && info.imageOrientationPatient?.every((v, i) => Math.abs(v - (first[i] as number)) < 1e-4),
  );
  if (!sameOrientation) return undefined;
  return sliceNormal(first);
}

function sortKey(info: DicomImageInfo, normal: Vec3 | undefined): number | undefined {
  const p = info.imagePositionPatient;
  if (normal !== undefined && p !== undefined) return dot(p, normal);
  return info.instanceNumber;
}

/** Numbers ascending; missing keys last. */
function compareKeys(a: number | undefined, b: number | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a - b;
}
