/**
 * Ordering the instances of a series in space. CT/MR slices are ordered by their position
 * along the slice normal (from ImageOrientationPatient), never by InstanceNumber or arrival
 * order, which scanners and PACS do not keep consistent.
 */
import type { DicomImageInfo } from './types.js';

type Vec3 = readonly [number, number, number];

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
  const row: Vec3 = [first[0], first[1], first[2]];
  const col: Vec3 = [first[3], first[4], first[5]];
  return [row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2], row[0] * col[1] - row[1] * col[0]];
}

function sortKey(info: DicomImageInfo, normal: Vec3 | undefined): number | undefined {
  const p = info.imagePositionPatient;
  if (normal !== undefined && p !== undefined) return p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
  return info.instanceNumber;
}

/** Numbers ascending; missing keys last. */
function compareKeys(a: number | undefined, b: number | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a - b;
}
