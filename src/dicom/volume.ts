/**
 * CT/MR volumes: a series of decoded single-frame slices → one voxel array in patient geometry,
 * and trilinear resampling to a requested voxel spacing (what 3D models are trained on).
 *
 * Assembly refuses, with the reasons from volume-geometry.ts, anything that is not one regular
 * stack: mixed orientations, missing positions, duplicates, gaps, non-uniform spacing, tilt.
 */
import { AppError } from '../errors.js';
import type { LoadedInstance } from './load.js';
import type { Vec3 } from './series.js';
import { analyseSliceGeometry } from './volume-geometry.js';
import type { GeometryTolerances } from './volume-geometry.js';

/** A scalar volume in modality units (HU for CT), voxels x fastest, then y, then z. */
export interface Volume {
  readonly seriesInstanceUid: string;
  /** SOP Instance UIDs of the slices, in z order. */
  readonly sopInstanceUids: readonly string[];
  /** Voxels along x (columns), y (rows) and z (slices). */
  readonly size: readonly [number, number, number];
  /** Voxel spacing along x, y, z in mm. */
  readonly spacing: readonly [number, number, number];
  /** Patient position of voxel (0, 0, 0): ImagePositionPatient of the first slice, mm. */
  readonly origin: Vec3;
  /** Unit direction of increasing x (row direction), y (column direction) and z (slice normal). */
  readonly directions: { readonly row: Vec3; readonly column: Vec3; readonly normal: Vec3 };
  readonly data: Float32Array;
}

/** Options for {@link assembleVolume}. */
export interface AssembleOptions {
  readonly tolerances?: GeometryTolerances;
  /** Fewest slices accepted. Default 2. */
  readonly minSlices?: number;
  /** Most voxels the volume may have. Default 256 Mi (1 GiB as Float32). */
  readonly maxVoxels?: number;
}

const DEFAULT_MAX_VOXELS = 256 * 1024 * 1024;

/**
 * Stacks the slices of one series into a volume, ordered along the slice normal.
 *
 * @param instances - decoded single-frame monochrome instances of one series, any order
 * @throws AppError DICOM_UNSUPPORTED listing every geometry problem (mixed series, colour,
 *   multi-frame, gaps, non-uniform spacing, tilt, too few slices); DICOM_TOO_LARGE over `maxVoxels`
 */
export function assembleVolume(instances: readonly LoadedInstance[], options: AssembleOptions = {}): Volume {
  const minSlices = options.minSlices ?? 2;
  const problems: string[] = [];
  const series = new Set(instances.map((i) => i.info.seriesInstanceUid));
  if (series.size > 1) problems.push(`the instances belong to ${series.size} series`);
  if (instances.some((i) => i.frames.length !== 1 || i.frames[0]?.samplesPerPixel !== 1)) {
    problems.push('every slice must be a single monochrome frame');
  }
  if (instances.length < minSlices) problems.push(`the series has ${instances.length} slice(s), fewer than the ${minSlices} required`);
  const geometry = analyseSliceGeometry(instances, options.tolerances);
  problems.push(...geometry.problems);
  const { directions, sliceSpacing, pixelSpacing } = geometry;
  if (problems.length > 0 || directions === undefined || pixelSpacing === undefined) {
    throw new AppError('DICOM_UNSUPPORTED', `The series cannot be assembled into a volume: ${problems.join('; ')}.`);
  }
  const first = geometry.ordered[0] as LoadedInstance;
  const columns = first.info.columns;
  const rows = first.info.rows;
  const slices = geometry.ordered.length;
  const voxels = columns * rows * slices;
  const maxVoxels = options.maxVoxels ?? DEFAULT_MAX_VOXELS;
  if (voxels > maxVoxels) throw new AppError('DICOM_TOO_LARGE', `The volume would have ${voxels} voxels, more than the limit of ${maxVoxels}.`);
  const data = new Float32Array(voxels);
  geometry.ordered.forEach((instance, z) => {
    data.set((instance.frames[0] as LoadedInstance['frames'][number]).values, z * rows * columns);
  });
  return {
    seriesInstanceUid: first.info.seriesInstanceUid,
    sopInstanceUids: geometry.ordered.map((i) => i.info.sopInstanceUid),
    size: [columns, rows, slices],
    // PixelSpacing is [between rows (y), between columns (x)].
    spacing: [pixelSpacing[1], pixelSpacing[0], sliceSpacing ?? 1],
    origin: first.info.imagePositionPatient as Vec3,
    directions,
    data,
  };
}

/**
 * Resamples a volume to another voxel spacing with trilinear interpolation, keeping its origin
 * and extent: voxel centres of the output lie on the same physical grid lines as the input's
 * first voxel, and the output covers [0, (n − 1) · spacing] on each axis.
 *
 * @param spacing - target spacing along x, y, z in mm (each > 0)
 * @param maxVoxels - most voxels of the output. Default 256 Mi.
 * @throws RangeError for a non-positive spacing; AppError DICOM_TOO_LARGE over `maxVoxels`
 */
export function resampleVolume(volume: Volume, spacing: readonly [number, number, number], maxVoxels = DEFAULT_MAX_VOXELS): Volume {
  if (!spacing.every((s) => Number.isFinite(s) && s > 0)) throw new RangeError(`Target spacing must be positive, not ${spacing.join(' × ')}.`);
  const [nx, ny, nz] = volume.size;
  const size = [0, 1, 2].map((a) => Math.floor((((volume.size[a] as number) - 1) * (volume.spacing[a] as number)) / (spacing[a] as number) + 1e-6) + 1) as [number, number, number];
  const voxels = size[0] * size[1] * size[2];
  if (voxels > maxVoxels) throw new AppError('DICOM_TOO_LARGE', `The resampled volume would have ${voxels} voxels, more than the limit of ${maxVoxels}.`);
  // Source coordinate of each output index along each axis, as (lower index, weight of upper).
  const axes = [0, 1, 2].map((a) => axisSamples(size[a] as number, (spacing[a] as number) / (volume.spacing[a] as number), volume.size[a] as number));
  const [ax, ay, az] = axes as [AxisSamples, AxisSamples, AxisSamples];
  const src = volume.data;
  const out = new Float32Array(voxels);
  const plane = nx * ny;
  let o = 0;
  for (let z = 0; z < size[2]; z++) {
    const z0 = az.lower[z] as number;
    const z1 = Math.min(z0 + 1, nz - 1);
    const wz = az.weight[z] as number;
    for (let y = 0; y < size[1]; y++) {
      const y0 = ay.lower[y] as number;
      const y1 = Math.min(y0 + 1, ny - 1);
      const wy = ay.weight[y] as number;
      const r00 = z0 * plane + y0 * nx;
      const r01 = z0 * plane + y1 * nx;
      const r10 = z1 * plane + y0 * nx;
      const r11 = z1 * plane + y1 * nx;
      for (let x = 0; x < size[0]; x++) {
        const x0 = ax.lower[x] as number;
        const x1 = Math.min(x0 + 1, nx - 1);
        const wx = ax.weight[x] as number;
        const c00 = (src[r00 + x0] as number) * (1 - wx) + (src[r00 + x1] as number) * wx;
        const c01 = (src[r01 + x0] as number) * (1 - wx) + (src[r01 + x1] as number) * wx;
        const c10 = (src[r10 + x0] as number) * (1 - wx) + (src[r10 + x1] as number) * wx;
        const c11 = (src[r11 + x0] as number) * (1 - wx) + (src[r11 + x1] as number) * wx;
        const c0 = c00 * (1 - wy) + c01 * wy;
        const c1 = c10 * (1 - wy) + c11 * wy;
        out[o++] = c0 * (1 - wz) + c1 * wz;
      }
    }
  }
  return { ...volume, size, spacing: [...spacing], data: out };
}

interface AxisSamples {
  readonly lower: Int32Array;
  readonly weight: Float64Array;
}

/** For each output index i: source position i · ratio, split into its lower index and fractional weight. */
function axisSamples(count: number, ratio: number, sourceSize: number): AxisSamples {
  const lower = new Int32Array(count);
  const weight = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const pos = Math.min(i * ratio, sourceSize - 1);
    const l = Math.min(Math.floor(pos + 1e-9), sourceSize - 1);
    lower[i] = l;
    weight[i] = Math.max(0, pos - l);
  }
  return { lower, weight };
}
