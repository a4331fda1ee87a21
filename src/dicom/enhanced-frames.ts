/**
 * The per-frame header of an enhanced multi-frame image (e.g. Enhanced MR Image Storage, PS3.3
 * C.7.6.16): where each frame lies and when in the cardiac cycle, from the Shared and Per-frame
 * Functional Groups — Plane Position (ImagePositionPatient), Plane Orientation, Pixel Measures
 * (PixelSpacing), Frame Content (TemporalPositionIndex) and Cardiac Synchronization
 * (NominalCardiacTriggerDelayTime). A cine series stored as one enhanced instance is then arranged
 * like one stored as classic single-frame images (cine.ts).
 */
import { readHeaderAttributes } from './derived.js';
import type { DicomImageInfo } from './types.js';

type Item = Readonly<Record<string, unknown>>;

const firstItem = (v: unknown): Item | undefined => (Array.isArray(v) && typeof v[0] === 'object' && v[0] !== null ? (v[0] as Item) : undefined);

function numbers(v: unknown, n: number): number[] | undefined {
  const list = (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(Number);
  return list.length === n && list.every(Number.isFinite) ? list : undefined;
}

/**
 * @param part10 - the instance's bytes
 * @param info - its header as the parser read it (the frames' common values)
 * @returns one header per frame, or undefined when the instance has no per-frame functional
 *   groups for every frame (a classic multi-frame image) or they cannot be read; the frames then
 *   keep the instance's header
 */
export function perFrameInfo(part10: Uint8Array, info: DicomImageInfo): DicomImageInfo[] | undefined {
  if (info.numberOfFrames < 2) return undefined;
  let attributes: Record<string, unknown>;
  try {
    attributes = readHeaderAttributes(part10);
  } catch {
    return undefined;
  }
  const perFrame = attributes['PerFrameFunctionalGroupsSequence'];
  if (!Array.isArray(perFrame) || perFrame.length !== info.numberOfFrames) return undefined;
  const shared = firstItem(attributes['SharedFunctionalGroupsSequence']);
  return (perFrame as Item[]).map((frame, i) => {
    // A functional group is in the frame's item, else in the shared item.
    const group = (keyword: string): Item | undefined => firstItem(frame[keyword]) ?? firstItem(shared?.[keyword]);
    const position = numbers(group('PlanePositionSequence')?.['ImagePositionPatient'], 3);
    const orientation = numbers(group('PlaneOrientationSequence')?.['ImageOrientationPatient'], 6);
    const spacing = numbers(group('PixelMeasuresSequence')?.['PixelSpacing'], 2);
    const temporal = numbers(group('FrameContentSequence')?.['TemporalPositionIndex'], 1)?.[0];
    const trigger = numbers(group('CardiacSynchronizationSequence')?.['NominalCardiacTriggerDelayTime'], 1)?.[0];
    return {
      ...info,
      numberOfFrames: 1,
      instanceNumber: i + 1,
      imagePositionPatient: (position as DicomImageInfo['imagePositionPatient']) ?? info.imagePositionPatient,
      imageOrientationPatient: (orientation as DicomImageInfo['imageOrientationPatient']) ?? info.imageOrientationPatient,
      pixelSpacing: (spacing as DicomImageInfo['pixelSpacing']) ?? info.pixelSpacing,
      temporalPositionIdentifier: temporal ?? info.temporalPositionIdentifier,
      triggerTime: trigger ?? info.triggerTime,
    };
  });
}
