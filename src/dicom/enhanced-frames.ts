/**
 * The per-frame header of an enhanced multi-frame image (e.g. Enhanced MR Image Storage, PS3.3
 * C.7.6.16): where each frame lies and when in the cardiac cycle, from the Shared and Per-frame
 * Functional Groups — Plane Position (ImagePositionPatient), Plane Orientation, Pixel Measures
 * (PixelSpacing), Frame Content (TemporalPositionIndex) and Cardiac Synchronization
 * (NominalCardiacTriggerDelayTime). A cine series stored as one enhanced instance is then arranged
 * like one stored as classic single-frame images (cine.ts), and a SEG can reference its frames.
 */
import { readHeaderAttributes, type SourceHeader } from './derived.js';
import type { DicomImageInfo } from './types.js';

type Item = Readonly<Record<string, unknown>>;

/**
 * The cross-sectional SOP classes whose frames are described by functional groups (PS3.4 B.5):
 * Enhanced MR, Enhanced MR Color, Legacy Converted Enhanced MR, Enhanced CT, Legacy Converted
 * Enhanced CT. Other multi-frame images (an ultrasound loop, a classic multi-frame) are not read
 * again for them: the second read copies the file.
 */
export const FUNCTIONAL_GROUP_SOP_CLASSES: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.1.1.4.1',
  '1.2.840.10008.5.1.4.1.1.4.3',
  '1.2.840.10008.5.1.4.1.1.4.4',
  '1.2.840.10008.5.1.4.1.1.2.1',
  '1.2.840.10008.5.1.4.1.1.2.2',
]);

/** One frame's place, as its functional groups state it (each absent when they do not). */
export interface FrameGroups {
  readonly imagePositionPatient: [number, number, number] | undefined;
  readonly imageOrientationPatient: [number, number, number, number, number, number] | undefined;
  readonly pixelSpacing: [number, number] | undefined;
  readonly sliceThickness: number | undefined;
  readonly temporalPositionIndex: number | undefined;
  readonly triggerDelayMs: number | undefined;
}

const firstItem = (v: unknown): Item | undefined => (Array.isArray(v) && typeof v[0] === 'object' && v[0] !== null ? (v[0] as Item) : undefined);

function numbers(v: unknown, n: number): number[] | undefined {
  const list = (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(Number);
  return list.length === n && list.every(Number.isFinite) ? list : undefined;
}

/**
 * Every frame's functional groups, from a header read by dcmjs.
 *
 * @param attributes - the instance's attributes (keyword-keyed, sequences included)
 * @param frameCount - NumberOfFrames
 * @returns undefined when there is no Per-frame Functional Groups item for every frame
 */
export function frameGroups(attributes: Readonly<Record<string, unknown>>, frameCount: number): FrameGroups[] | undefined {
  const perFrame = attributes['PerFrameFunctionalGroupsSequence'];
  if (frameCount < 2 || !Array.isArray(perFrame) || perFrame.length !== frameCount) return undefined;
  const shared = firstItem(attributes['SharedFunctionalGroupsSequence']);
  return (perFrame as Item[]).map((frame) => {
    // A functional group is in the frame's item, else in the shared item.
    const group = (keyword: string): Item | undefined => firstItem(frame[keyword]) ?? firstItem(shared?.[keyword]);
    return {
      imagePositionPatient: numbers(group('PlanePositionSequence')?.['ImagePositionPatient'], 3) as FrameGroups['imagePositionPatient'],
      imageOrientationPatient: numbers(group('PlaneOrientationSequence')?.['ImageOrientationPatient'], 6) as FrameGroups['imageOrientationPatient'],
      pixelSpacing: numbers(group('PixelMeasuresSequence')?.['PixelSpacing'], 2) as FrameGroups['pixelSpacing'],
      sliceThickness: numbers(group('PixelMeasuresSequence')?.['SliceThickness'], 1)?.[0],
      temporalPositionIndex: numbers(group('FrameContentSequence')?.['TemporalPositionIndex'], 1)?.[0],
      triggerDelayMs: numbers(group('CardiacSynchronizationSequence')?.['NominalCardiacTriggerDelayTime'], 1)?.[0],
    };
  });
}

/**
 * @param part10 - the instance's bytes
 * @param info - its header as the parser read it (the frames' common values)
 * @returns one header per frame, or undefined when the instance is not of an enhanced class, has
 *   no per-frame functional groups for every frame, or they cannot be read; the frames then keep
 *   the instance's header
 */
export function perFrameInfo(part10: Uint8Array, info: DicomImageInfo): DicomImageInfo[] | undefined {
  if (info.numberOfFrames < 2 || !FUNCTIONAL_GROUP_SOP_CLASSES.has(info.sopClassUid ?? '')) return undefined;
  let groups: FrameGroups[] | undefined;
  try {
    groups = frameGroups(readHeaderAttributes(part10), info.numberOfFrames);
  } catch {
    return undefined;
  }
  return groups?.map((g, i) => ({
    ...info,
    numberOfFrames: 1,
    instanceNumber: i + 1,
    imagePositionPatient: g.imagePositionPatient ?? info.imagePositionPatient,
    imageOrientationPatient: g.imageOrientationPatient ?? info.imageOrientationPatient,
    pixelSpacing: g.pixelSpacing ?? info.pixelSpacing,
    temporalPositionIdentifier: g.temporalPositionIndex ?? info.temporalPositionIdentifier,
    triggerTime: g.triggerDelayMs ?? info.triggerTime,
  }));
}

/**
 * A multi-frame source's header narrowed to one frame (for a SEG that references frames).
 *
 * @param header - the instance's header (readSourceHeader)
 * @param frameNumber - 1-based
 * @returns undefined when the frame has no functional groups
 */
export function frameHeader(header: SourceHeader, frameNumber: number): SourceHeader | undefined {
  const g = frameGroups(header.attributes, Number(header.attributes['NumberOfFrames'] ?? 1))?.[frameNumber - 1];
  if (g === undefined) return undefined;
  return {
    ...header,
    frameNumber,
    // Positions are stated only within a Frame of Reference (as readSourceHeader does).
    imagePositionPatient: header.frameOfReferenceUid === undefined ? undefined : (g.imagePositionPatient ?? header.imagePositionPatient),
    imageOrientationPatient: header.frameOfReferenceUid === undefined ? undefined : (g.imageOrientationPatient ?? header.imageOrientationPatient),
    pixelSpacing: g.pixelSpacing ?? header.pixelSpacing,
    sliceThickness: g.sliceThickness ?? header.sliceThickness,
  };
}
