/**
 * JPEG decoding for the test sets, with the libjpeg-turbo WebAssembly build the service already
 * depends on (@cornerstonejs/codec-libjpeg-turbo-8bit), and the two ways a test set turns the
 * decoded pixels into an {@link InputImage}: PIL-identical 8-bit grey, or RGB.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { InputImage } from '../../src/inference/index.js';

/** The embind decoder class the codec package registers. */
interface JpegDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { readonly width: number; readonly height: number; readonly bitsPerSample: number; readonly componentCount: number };
  delete(): void;
}

interface JpegModule {
  readonly JPEGDecoder: new () => JpegDecoder;
}

/** A decoded 8-bit JPEG: interleaved samples, `componentCount` per pixel. */
export interface DecodedJpeg {
  readonly width: number;
  readonly height: number;
  readonly componentCount: number;
  readonly samples: Uint8Array;
}

/** Decodes one JPEG file's bytes. */
export type JpegDecode = (bytes: Uint8Array) => DecodedJpeg;

let codec: Promise<JpegModule> | undefined;

/** Instantiates the codec once (the .wasm ships inside the package; nothing is downloaded). */
function loadCodec(): Promise<JpegModule> {
  codec ??= (() => {
    const require = createRequire(import.meta.url);
    const factory = require('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs') as (arg: object) => Promise<JpegModule>;
    const wasmBinary = readFileSync(require.resolve('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm'));
    return factory({ wasmBinary, print: () => undefined, printErr: () => undefined });
  })();
  return codec;
}

/**
 * A JPEG decoder for 8-bit baseline files.
 *
 * @returns a synchronous decode function, once the codec is ready
 */
export async function jpegDecoder(): Promise<JpegDecode> {
  const { JPEGDecoder } = await loadCodec();
  return (bytes) => {
    const decoder = new JPEGDecoder();
    try {
      decoder.getEncodedBuffer(bytes.byteLength).set(bytes);
      decoder.decode();
      const { width, height, bitsPerSample, componentCount } = decoder.getFrameInfo();
      if (bitsPerSample !== 8) throw new Error(`JPEG with ${bitsPerSample}-bit samples (8 expected)`);
      // A copy: the decoded buffer is a view into the WebAssembly heap.
      return { width, height, componentCount, samples: Uint8Array.from(decoder.getDecodedBuffer()) };
    } finally {
      decoder.delete();
    }
  };
}

/**
 * 8-bit grey exactly as PIL's `convert('L')` makes it (ITU-R 601-2 luma in 16-bit fixed point),
 * as [0, 1] floats; grey JPEGs pass through.
 */
export function toGrey({ width, height, componentCount, samples }: DecodedJpeg): InputImage {
  const n = width * height;
  const data = new Float32Array(n);
  if (componentCount === 1) {
    for (let i = 0; i < n; i++) data[i] = (samples[i] as number) / 255;
  } else if (componentCount === 3) {
    for (let i = 0; i < n; i++) {
      // Pillow's L24: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16
      const r = samples[3 * i] as number;
      const g = samples[3 * i + 1] as number;
      const b = samples[3 * i + 2] as number;
      data[i] = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16) / 255;
    }
  } else {
    throw new Error(`JPEG with ${componentCount} components`);
  }
  return { width, height, channels: 1, data };
}

/** RGB as [0, 1] floats; grey JPEGs are repeated into three channels. */
export function toRgb({ width, height, componentCount, samples }: DecodedJpeg): InputImage {
  if (componentCount !== 1 && componentCount !== 3) throw new Error(`JPEG with ${componentCount} components`);
  const n = width * height;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) data[3 * i + c] = (samples[componentCount === 1 ? i : 3 * i + c] as number) / 255;
  }
  return { width, height, channels: 3, data };
}
