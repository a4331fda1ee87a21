/**
 * The DRIVE retinal-vessel test set (shared/data/drive/testing) and the segmentation metrics
 * the vessel model card states, computed the DRIVE way: over the pixels inside each image's
 * field-of-view mask, pooled across the 20 images, against the first observer; the second
 * observer's agreement with the first is the human reference.
 *
 * Images are LZW TIFFs (read with `tiff`), masks GIFs (read with `omggif`).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { GifReader } from 'omggif';
import { decode as decodeTiff } from 'tiff';
import type { InputImage } from '../inference/index.js';
import { rocAuc } from './eval-metrics.js';

export interface DriveCase {
  readonly name: string;
  /** RGB in [0, 1], as the service would see the photograph. */
  readonly image: InputImage;
  /** 1 inside the field-of-view mask. */
  readonly fov: Uint8Array;
  /** 1 = vessel, first observer. */
  readonly manual1: Uint8Array;
  /** 1 = vessel, second observer. */
  readonly manual2: Uint8Array;
}

/** A GIF's first frame as 0/1 per pixel (non-zero red = 1). */
export function readMaskGif(bytes: Uint8Array): { width: number; height: number; mask: Uint8Array } {
  const gif = new GifReader(bytes);
  const rgba = new Uint8Array(gif.width * gif.height * 4);
  gif.decodeAndBlitFrameRGBA(0, rgba);
  const mask = new Uint8Array(gif.width * gif.height);
  for (let i = 0; i < mask.length; i++) mask[i] = (rgba[4 * i] as number) > 127 ? 1 : 0;
  return { width: gif.width, height: gif.height, mask };
}

/** An 8-bit RGB TIFF as [0, 1] floats. */
export function readRgbTiff(bytes: Uint8Array): InputImage {
  const [page] = decodeTiff(bytes);
  if (page === undefined) throw new Error('TIFF has no image');
  if (page.samplesPerPixel !== 3 || page.bitsPerSample !== 8) throw new Error(`TIFF is ${page.samplesPerPixel}×${page.bitsPerSample}-bit, expected 8-bit RGB`);
  const data = Float32Array.from(page.data as Uint8Array, (v) => v / 255);
  return { width: page.width, height: page.height, channels: 3, data };
}

/** The 20 DRIVE test cases, in file order. */
export async function driveTestSet(dataDir: string): Promise<DriveCase[]> {
  const root = path.join(dataDir, 'drive', 'testing');
  const names = (await readdir(path.join(root, 'images'))).filter((f) => f.endsWith('_test.tif')).sort();
  const cases: DriveCase[] = [];
  for (const file of names) {
    const id = file.slice(0, 2);
    const image = readRgbTiff(await readFile(path.join(root, 'images', file)));
    const mask = async (dir: string, name: string): Promise<Uint8Array> => {
      const m = readMaskGif(await readFile(path.join(root, dir, name)));
      if (m.width !== image.width || m.height !== image.height) throw new Error(`${name} is ${m.width}×${m.height}, image ${image.width}×${image.height}`);
      return m.mask;
    };
    cases.push({
      name: id,
      image,
      fov: await mask('mask', `${id}_test_mask.gif`),
      manual1: await mask('1st_manual', `${id}_manual1.gif`),
      manual2: await mask('2nd_manual', `${id}_manual2.gif`),
    });
  }
  return cases;
}

/** Pixel-overlap metrics of a binary decision against a reference, pooled over all pixels given. */
export interface OverlapMetrics {
  readonly dice: number;
  readonly accuracy: number;
  readonly sensitivity: number;
  readonly specificity: number;
}

/** Counts a decision against a reference inside a mask. */
function confusion(reference: Uint8Array, decided: (i: number) => boolean, inside: Uint8Array, into: { tp: number; fp: number; fn: number; tn: number }): void {
  for (let i = 0; i < reference.length; i++) {
    if (inside[i] !== 1) continue;
    const d = decided(i);
    if (reference[i] === 1) {
      if (d) into.tp++;
      else into.fn++;
    } else if (d) into.fp++;
    else into.tn++;
  }
}

function overlap(c: { tp: number; fp: number; fn: number; tn: number }): OverlapMetrics {
  return {
    dice: (2 * c.tp) / (2 * c.tp + c.fp + c.fn),
    accuracy: (c.tp + c.tn) / (c.tp + c.tn + c.fp + c.fn),
    sensitivity: c.tp / (c.tp + c.fn),
    specificity: c.tn / (c.tn + c.fp),
  };
}

/**
 * The model's metrics on DRIVE: pooled pixel AUC and overlap at the threshold, inside the FOV.
 *
 * @param cases - the test cases
 * @param probabilities - per case, the vessel probability per pixel at the image's resolution
 * @param threshold - vessel when probability ≥ threshold (the manifest's rule)
 */
export function segmentationMetrics(cases: readonly DriveCase[], probabilities: readonly Float32Array[], threshold: number): OverlapMetrics & { auc: number; pixels: number } {
  const counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  let pixels = 0;
  for (const c of cases) for (const v of c.fov) pixels += v;
  const labels = new Uint8Array(pixels);
  const scores = new Float64Array(pixels);
  let k = 0;
  cases.forEach((c, n) => {
    const p = probabilities[n];
    if (p === undefined || p.length !== c.fov.length) throw new Error(`case ${c.name}: probability map missing or of the wrong size`);
    confusion(c.manual1, (i) => (p[i] as number) >= threshold, c.fov, counts);
    for (let i = 0; i < c.fov.length; i++) {
      if (c.fov[i] !== 1) continue;
      labels[k] = c.manual1[i] as number;
      scores[k] = p[i] as number;
      k++;
    }
  });
  return { ...overlap(counts), auc: rocAuc(labels, scores), pixels };
}

/** The second observer against the first, inside the FOV, pooled: the human reference. */
export function secondObserverAgreement(cases: readonly DriveCase[]): OverlapMetrics {
  const counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const c of cases) confusion(c.manual1, (i) => c.manual2[i] === 1, c.fov, counts);
  return overlap(counts);
}
