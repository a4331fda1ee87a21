/**
 * The one image type shared by the dicom, inference and analysis layers.
 */

/**
 * An image with values in [0, 1], row-major, channels interleaved, bright = high: what the
 * dicom layer makes of a frame after Modality LUT, VOI window and MONOCHROME1 inversion, and
 * what a model's preprocessing starts from.
 */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Float32Array;
  /** [between rows, between columns] in mm, when the source states it (areas need it). */
  readonly pixelSpacingMm?: readonly [number, number] | undefined;
}

/**
 * How stored values become [0, 1] intensities: the file's VOI window (`dicom`, else its
 * min/max), a fixed LINEAR window, or the frame's own min/max. A model's manifest names one;
 * the dicom layer applies it.
 */
export type WindowingSpec =
  | { readonly kind: 'dicom' }
  | { readonly kind: 'fixed'; readonly center: number; readonly width: number }
  | { readonly kind: 'minmax' };
