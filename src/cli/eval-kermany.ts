/**
 * The Kermany ChestXRay2017 test JPEGs (shared/data/kermany-cxr-224/test/{NORMAL,PNEUMONIA})
 * as models/pneumonia-cxr-28/evaluate.py reads them: decoded (libjpeg-turbo, the WebAssembly
 * build the dicom layer already uses), converted to 8-bit grey exactly as PIL's
 * `convert('L')` does (ITU-R 601-2 luma in 16-bit fixed point), /255. The engine then
 * area-averages 224 → 28 (exact 8×8 block means), as the service does for a whole image.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { WasmDecoderModule } from '../dicom/codecs/wasm-module.js';
import type { InputImage } from '../inference/index.js';
import type { TestSet } from './eval-cards.js';

const libjpegTurbo = new WasmDecoderModule(
  'libjpeg-turbo',
  '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
  '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm',
  'JPEGDecoder',
);

/** Decodes an 8-bit baseline JPEG to PIL-identical 8-bit grey, as [0, 1] floats. */
export function jpegToGrey(bytes: Uint8Array): InputImage {
  const { info, bytes: px } = libjpegTurbo.decode(bytes, () => undefined);
  const { width, height, componentCount } = info;
  const n = width * height;
  const data = new Float32Array(n);
  if (componentCount === 1) {
    for (let i = 0; i < n; i++) data[i] = (px[i] as number) / 255;
  } else if (componentCount === 3) {
    for (let i = 0; i < n; i++) {
      // Pillow's L24: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16
      const l = ((px[3 * i] as number) * 19595 + (px[3 * i + 1] as number) * 38470 + (px[3 * i + 2] as number) * 7471 + 0x8000) >>> 16;
      data[i] = l / 255;
    }
  } else {
    throw new Error(`JPEG with ${componentCount} components`);
  }
  return { width, height, channels: 1, data };
}

/** Decodes an 8-bit JPEG to RGB [0, 1] floats (grey JPEGs repeated into three channels). */
export function jpegToRgb(bytes: Uint8Array): InputImage {
  const { info, bytes: px } = libjpegTurbo.decode(bytes, () => undefined);
  const { width, height, componentCount } = info;
  if (componentCount !== 1 && componentCount !== 3) throw new Error(`JPEG with ${componentCount} components`);
  const n = width * height;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) data[3 * i + c] = (px[componentCount === 1 ? i : 3 * i + c] as number) / 255;
  }
  return { width, height, channels: 3, data };
}

async function kermanyTest(dataDir: string, decode: (bytes: Uint8Array) => InputImage, what: string): Promise<TestSet> {
  const root = path.join(dataDir, 'kermany-cxr-224', 'test');
  const images: InputImage[] = [];
  const labels: number[] = [];
  for (const [folder, label] of [['NORMAL', 0], ['PNEUMONIA', 1]] as const) {
    const files = (await readdir(path.join(root, folder))).filter((f) => f.endsWith('.jpeg')).sort();
    for (const f of files) {
      images.push(decode(await readFile(path.join(root, folder, f))));
      labels.push(label);
    }
  }
  return { description: `kermany-cxr-224 test JPEGs, ${what}, whole image (n=${images.length})`, images, labels: Uint8Array.from(labels) };
}

/** As pneumonia-cxr-28's evaluate.py reads them: PIL-identical 8-bit grey. */
export function kermanyTestSet(dataDir: string): Promise<TestSet> {
  return kermanyTest(dataDir, jpegToGrey, 'grey');
}

/** As a colour image reaches the engine: RGB, converted to grey by the engine's BT.601 luma. */
export function kermanyRgbTestSet(dataDir: string): Promise<TestSet> {
  return kermanyTest(dataDir, jpegToRgb, 'RGB');
}
