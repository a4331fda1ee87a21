/**
 * One DICOM case through the public dicom API: parseDicom → decodeFrames (or
 * loadInstanceFrames) → toDisplayImage. The outcome is `decoded`, the AppError's code, or
 * `crash` (anything else thrown) / `bad-image` (a decoded image with wrong size or values
 * outside [0, 1]).
 */
import { decodeFrame, decodeFrames, loadInstanceFrames, parseDicom, toDisplayImage, type DicomLimits, type ModalityFrame } from '../../src/dicom/index.js';

/** Which public entry a case goes through, with which limits and windowing. */
export interface DicomCheckOptions {
  readonly api: 'loadInstanceFrames' | 'parseDicom+decodeFrames' | 'parseDicom+decodeFrame';
  /** Undefined: the service's defaults. */
  readonly limits: DicomLimits | undefined;
  readonly windowing: 'dicom' | 'minmax' | 'fixed';
}

export interface DicomOutcome {
  /** `decoded`, an AppError code, `crash` or `bad-image`. */
  readonly outcome: string;
  /** Error name and message (crashes: the stack), or what was decoded. */
  readonly detail: string;
}

/** An AppError from the product, recognised by shape (the class is not a public entry). */
export function appErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'AppError') return undefined;
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) return (err.stack ?? `${err.name}: ${err.message}`).split('\n').slice(0, 8).join('\n');
  return `${typeof err} thrown: ${String(err)}`;
}

function frames(bytes: Uint8Array, o: DicomCheckOptions): ModalityFrame[] {
  switch (o.api) {
    case 'loadInstanceFrames':
      return loadInstanceFrames(bytes, o.limits ?? {}).frames;
    case 'parseDicom+decodeFrames': {
      const parsed = o.limits === undefined ? parseDicom(bytes) : parseDicom(bytes, o.limits);
      return o.limits === undefined ? decodeFrames(parsed) : decodeFrames(parsed, o.limits);
    }
    case 'parseDicom+decodeFrame': {
      const parsed = o.limits === undefined ? parseDicom(bytes) : parseDicom(bytes, o.limits);
      const last = Math.max(0, parsed.info.numberOfFrames - 1);
      return [o.limits === undefined ? decodeFrame(parsed, last) : decodeFrame(parsed, last, o.limits)];
    }
  }
}

/** Checks a display image: the size its frame says, every value finite and in [0, 1]. */
function imageProblem(frame: ModalityFrame, o: DicomCheckOptions): string | undefined {
  const spec = o.windowing === 'fixed' ? { kind: 'fixed' as const, center: 128, width: 256 } : { kind: o.windowing };
  const image = toDisplayImage(frame, spec);
  const expected = frame.rows * frame.columns * frame.samplesPerPixel;
  if (image.width !== frame.columns || image.height !== frame.rows || image.data.length !== expected) {
    return `display image ${image.width}x${image.height}x${image.channels} (${image.data.length} values) for a ${frame.columns}x${frame.rows}x${frame.samplesPerPixel} frame`;
  }
  for (let i = 0; i < image.data.length; i++) {
    const v = image.data[i] as number;
    if (!(v >= 0 && v <= 1)) return `display value ${v} at ${i} (${o.windowing} windowing) is not in [0, 1]`;
  }
  return undefined;
}

/** Runs one case; never throws. */
export function checkDicom(bytes: Uint8Array, o: DicomCheckOptions): DicomOutcome {
  try {
    const decoded = frames(bytes, o);
    // Every frame of a small image; the first and last of a long multi-frame one.
    const chosen = decoded.length <= 4 ? decoded : [decoded[0], decoded[decoded.length - 1]];
    for (const frame of chosen) {
      if (frame === undefined) continue;
      const problem = imageProblem(frame, o);
      if (problem !== undefined) return { outcome: 'bad-image', detail: problem };
    }
    const f = decoded[0];
    return { outcome: 'decoded', detail: f === undefined ? 'no frames' : `${decoded.length} frame(s) ${f.columns}x${f.rows}x${f.samplesPerPixel}` };
  } catch (err) {
    const code = appErrorCode(err);
    if (code !== undefined && code.startsWith('DICOM_')) return { outcome: code, detail: err instanceof Error ? err.message : '' };
    return { outcome: 'crash', detail: code === undefined ? describe(err) : `AppError ${code}: ${describe(err)}` };
  }
}
