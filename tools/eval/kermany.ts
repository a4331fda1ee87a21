/**
 * Test-set kind `kermany-jpeg`: the Kermany ChestXRay2017 test JPEGs in the data folder's
 * `kermany-cxr-224/test/{NORMAL,PNEUMONIA}` (positive = PNEUMONIA), whole images at their own
 * size, decoded with libjpeg-turbo and handed to the engine either as
 * - `grey`: 8-bit grey exactly as PIL's `convert('L')` makes it (how the model scripts read them), or
 * - `rgb`: colour, as a colour image reaches the engine (which converts it to grey itself).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { InputImage } from '../../src/inference/index.js';
import { jpegDecoder, toGrey, toRgb } from './jpeg.js';
import type { LabelledImages } from './test-set-types.js';

/** `{ "kind": "kermany-jpeg", "colour": "grey" }` */
export const KermanyTestSetSchema = z.strictObject({
  kind: z.literal('kermany-jpeg'),
  /** How the decoded JPEG reaches the engine. */
  colour: z.enum(['grey', 'rgb'], 'must be "grey" (PIL-identical 8-bit grey) or "rgb"'),
});

/** A parsed `kermany-jpeg` test-set description. */
export type KermanyTestSet = z.infer<typeof KermanyTestSetSchema>;

/** The test folder, with one sub-folder per class. */
export function kermanyPath(dataDir: string): string {
  return path.join(dataDir, 'kermany-cxr-224', 'test');
}

/** Folder → label: NORMAL is 0, PNEUMONIA (the reported finding) is 1. */
const CLASS_FOLDERS = [
  ['NORMAL', 0],
  ['PNEUMONIA', 1],
] as const;

/** Reads every `.jpeg` of both class folders, each in file-name order. */
export async function readKermany(dataDir: string, spec: KermanyTestSet): Promise<LabelledImages> {
  const root = kermanyPath(dataDir);
  const decode = await jpegDecoder();
  const convert = spec.colour === 'grey' ? toGrey : toRgb;
  const images: InputImage[] = [];
  const labels: number[] = [];
  for (const [folder, label] of CLASS_FOLDERS) {
    const files = (await readdir(path.join(root, folder))).filter((f) => f.endsWith('.jpeg')).sort();
    for (const f of files) {
      images.push(convert(decode(await readFile(path.join(root, folder, f)))));
      labels.push(label);
    }
  }
  return { description: `kermany-cxr-224 test JPEGs, ${spec.colour === 'grey' ? 'grey' : 'RGB'}, whole image (n=${images.length})`, images, labels: Uint8Array.from(labels) };
}
