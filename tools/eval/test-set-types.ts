/**
 * What a test-set reader hands to the card check: images as the service would see them
 * (InputImage, values in [0, 1]) with their reference labels or masks.
 */
import type { InputImage } from '../../src/inference/index.js';

/** A labelled classification test set. */
export interface LabelledImages {
  /** What was read, for the report, e.g. `breastmnist.npz test split (n=156)`. */
  readonly description: string;
  readonly images: readonly InputImage[];
  /** One per image: 1 = the reported finding is present, 0 = absent. */
  readonly labels: Uint8Array;
}

/** One segmentation test image with its reference masks, all at the image's resolution. */
export interface SegmentationCase {
  /** Short name for messages, e.g. the DRIVE image number `01`. */
  readonly name: string;
  /** The image as the service would see it. */
  readonly image: InputImage;
  /** 1 inside the field of view: the only pixels that are counted. */
  readonly fov: Uint8Array;
  /** 1 = in the class, according to the reference (first) observer. */
  readonly reference: Uint8Array;
  /** 1 = in the class, according to a second observer: the human agreement the card states. */
  readonly secondObserver: Uint8Array;
}

/** A segmentation test set. */
export interface SegmentationCases {
  /** What was read, for the report. */
  readonly description: string;
  readonly cases: readonly SegmentationCase[];
}
