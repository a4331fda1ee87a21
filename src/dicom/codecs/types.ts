/**
 * What the codec modules take and give. Each codec family (RLE, JPEG, JPEG-LS, JPEG 2000)
 * turns one frame's codestream into samples; codecs/index.ts checks them and applies the
 * DICOM attributes (BitsStored, PixelRepresentation) uniformly.
 */

/** The Image Pixel attributes a codec needs, as the DICOM header declares them. */
export interface FrameDescriptor {
  readonly transferSyntaxUid: string;
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  readonly pixelRepresentation: 0 | 1;
  readonly photometricInterpretation: string;
}

/** Photometric interpretation of decoded samples: codecs may convert colour (JPEG YCbCr → RGB, J2K RCT/ICT → RGB). */
export type DecodedPhotometric = 'MONOCHROME1' | 'MONOCHROME2' | 'RGB' | 'YBR_FULL';

/** One decoded frame as a codec module returns it. */
export interface CodecOutput {
  /** Rows × Columns × components samples, pixel-interleaved. */
  readonly samples: ArrayLike<number>;
  readonly photometric: DecodedPhotometric;
  /**
   * `cell`: each sample is a whole BitsAllocated-wide cell as in native Pixel Data (RLE), so
   * HighBit applies; `right`: the sample is right-aligned at the codestream's precision (JPEG,
   * JPEG-LS, JPEG 2000), so only the low BitsStored bits count.
   */
  readonly alignment: 'cell' | 'right';
}

/** A decoded frame after BitsStored masking and sign extension: what the Modality LUT applies to. */
export interface DecodedFrame {
  readonly values: Float64Array;
  readonly photometric: DecodedPhotometric;
}

/** Photometric interpretation of the samples as stored, for colour-handling decisions in codecs. */
export function declaredPhotometric(frame: FrameDescriptor): DecodedPhotometric {
  const p = frame.photometricInterpretation;
  if (p === 'MONOCHROME1' || p === 'MONOCHROME2' || p === 'RGB') return p;
  // Palette indices are one grey-like component to a codec; pixels.ts applies the palette.
  if (p === 'PALETTE COLOR') return 'MONOCHROME2';
  return 'YBR_FULL';
}
