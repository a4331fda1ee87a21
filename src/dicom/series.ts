/**
 * Patient-space vectors for ordering CT/MR slices: slices are ordered by their position along the
 * slice normal (from ImageOrientationPatient), never by InstanceNumber or arrival order, which
 * scanners and PACS do not keep consistent.
 */

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
