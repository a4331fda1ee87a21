/**
 * Test-set kind `drive`: the 20 DRIVE retinal-vessel test images in the data folder's
 * `drive/testing` (RGB photographs in [0, 1]), with their field-of-view masks, the first
 * observer's vessel masks (the reference) and the second observer's (the human agreement).
 *
 * Images are LZW TIFFs (read with `tiff`), masks GIFs (read with `omggif`).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { GifReader } from 'omggif';
import { decode as decodeTiff } from 'tiff';
import { z } from 'zod';
import type { InputImage } from '../../src/inference/index.js';
import type { SegmentationCase, SegmentationCases } from './test-set-types.js';

/** `{ "kind": "drive" }` */
export const DriveTestSetSchema = z.strictObject({ kind: z.literal('drive') });

/** A parsed `drive` test-set description. */
export type DriveTestSet = z.infer<typeof DriveTestSetSchema>;

/** The DRIVE test folder (`images/`, `mask/`, `1st_manual/`, `2nd_manual/`). */
export function drivePath(dataDir: string): string {
  return path.join(dataDir, 'drive', 'testing');
}

/** A GIF's first frame as 0/1 per pixel (red channel above 127 = 1). */
export function readMaskGif(bytes: Uint8Array): { width: number; height: number; mask: Uint8Array } {
  const gif = new GifReader(bytes);
  const rgba = new Uint8Array(gif.width * gif.height * 4);
  gif.decodeAndBlitFrameRGBA(0, rgba);
  const mask = new Uint8Array(gif.width * gif.height);
  for (let i = 0; i < mask.length; i++) mask[i] = (rgba[4 * i] as number) > 127 ? 1 : 0;
  return { width: gif.width, height: gif.height, mask };
}

/**
 * An 8-bit RGB TIFF as [0, 1] floats.
 *
 * @throws when the TIFF is empty or not 8-bit RGB
 */
export function readRgbTiff(bytes: Uint8Array): InputImage {
  const [page] = decodeTiff(bytes);
  if (page === undefined) throw new Error('TIFF has no image');
  if (page.samplesPerPixel !== 3 || page.bitsPerSample !== 8) throw new Error(`TIFF is ${page.samplesPerPixel}×${page.bitsPerSample}-bit, expected 8-bit RGB`);
  const data = Float32Array.from(page.data as Uint8Array, (v) => v / 255);
  return { width: page.width, height: page.height, channels: 3, data };
}

/** One test case by its two-digit number, every mask checked against the image's size. */
async function readCase(root: string, file: string): Promise<SegmentationCase> {
  const id = file.slice(0, 2);
  const image = readRgbTiff(await readFile(path.join(root, 'images', file)));
  const mask = async (dir: string, name: string): Promise<Uint8Array> => {
    const m = readMaskGif(await readFile(path.join(root, dir, name)));
    if (m.width !== image.width || m.height !== image.height) throw new Error(`${name} is ${m.width}×${m.height}, image ${image.width}×${image.height}`);
    return m.mask;
  };
  return {
    name: id,
    image,
    fov: await mask('mask', `${id}_test_mask.gif`),
    reference: await mask('1st_manual', `${id}_manual1.gif`),
    secondObserver: await mask('2nd_manual', `${id}_manual2.gif`),
  };
}

/** The DRIVE test cases, in file order. */
export async function readDrive(dataDir: string): Promise<SegmentationCases> {
  const root = drivePath(dataDir);
  const names = (await readdir(path.join(root, 'images'))).filter((f) => f.endsWith('_test.tif')).sort();
  const cases: SegmentationCase[] = [];
  for (const file of names) cases.push(await readCase(root, file));
  return { description: `DRIVE test images (n=${cases.length}), first observer, inside the FOV masks`, cases };
}
