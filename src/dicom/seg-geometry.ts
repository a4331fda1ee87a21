/**
 * Where the frames of a SEG lie, when its sources have a Frame of Reference: the shared plane
 * orientation and pixel measures, and each source's position as a 1-based index along the slice
 * normal (the "Image Position (Patient)" dimension). Sources without one (a 2-D photograph) have
 * no geometry to state.
 */
import { decimalString } from './derived.js';
import type { SourceHeader } from './derived.js';

export interface PlaneGeometry {
  readonly frameOfReferenceUid: string;
  /** Per source (input order): the rank of its position along the normal, 1 = the lowest. */
  readonly positionIndex: readonly number[];
  /** The Shared Functional Groups item: Plane Orientation and Pixel Measures. */
  readonly shared: Record<string, unknown>;
}

const sameNumbers = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => Math.abs(v - (b[i] as number)) < 1e-4);

/**
 * The geometry the sources share, or undefined when any of them lacks a Frame of Reference,
 * position, orientation or pixel spacing.
 *
 * @throws RangeError when sources with a Frame of Reference disagree on it or on orientation
 */
export function planeGeometry(sources: readonly SourceHeader[]): PlaneGeometry | undefined {
  const first = sources[0];
  if (first === undefined) return undefined;
  const complete = sources.every((s) => s.frameOfReferenceUid !== undefined && s.imagePositionPatient?.length === 3 && s.imageOrientationPatient?.length === 6 && s.pixelSpacing?.length === 2);
  if (!complete) return undefined;
  const orientation = first.imageOrientationPatient as readonly number[];
  for (const s of sources) {
    if (s.frameOfReferenceUid !== first.frameOfReferenceUid) throw new RangeError('The source images of a segmentation must share one Frame of Reference.');
    if (!sameNumbers(s.imageOrientationPatient as readonly number[], orientation)) throw new RangeError('The source images of a segmentation must share one orientation.');
  }
  const [r0, r1, r2, c0, c1, c2] = orientation as [number, number, number, number, number, number];
  const normal = [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0] as const;
  const along = sources.map((s) => {
    const p = s.imagePositionPatient as readonly number[];
    return Math.round(((p[0] as number) * normal[0] + (p[1] as number) * normal[1] + (p[2] as number) * normal[2]) * 1000) / 1000;
  });
  const distinct = [...new Set(along)].sort((a, b) => a - b);
  const pixelMeasures: Record<string, unknown> = { PixelSpacing: (first.pixelSpacing as readonly number[]).map(decimalString) };
  if (first.sliceThickness !== undefined) pixelMeasures['SliceThickness'] = decimalString(first.sliceThickness);
  return {
    frameOfReferenceUid: first.frameOfReferenceUid as string,
    positionIndex: along.map((d) => distinct.indexOf(d) + 1),
    shared: { PlaneOrientationSequence: [{ ImageOrientationPatient: orientation.map(decimalString) }], PixelMeasuresSequence: [pixelMeasures] },
  };
}
