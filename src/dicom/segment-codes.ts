/**
 * Segment descriptions for the segmentation models, by model id and class key: label and codes
 * a SEG states. Every code is a DICOM PS3.16 concept with the meaning it has there (checked
 * against Debian pydicom's concept tables, generated from PS3.16): category from CID 7150,
 * property type from CID 7151 (and the CID it includes), anatomic region from CID 4211.
 */
import type { Code } from './derived.js';
import type { SegmentDescription } from './seg.js';

const sct = (value: string, meaning: string): Code => ({ value, scheme: 'SCT', meaning });

/** CID 7150 "Anatomical Structure". */
const ANATOMICAL_STRUCTURE = sct('91723000', 'Anatomical Structure');

/** `modelId` → class key → segment description. */
export const SEGMENT_DESCRIPTIONS: Readonly<Record<string, Readonly<Record<string, SegmentDescription>>>> = {
  'retina-vessels-drive': {
    vessel: {
      label: 'Retinal blood vessels',
      description: 'Retinal blood vessels on a colour fundus photograph',
      category: ANATOMICAL_STRUCTURE,
      // CID 7151 (via CID 7166 / 7192): "Blood vessel"; the region says which ones.
      type: sct('59820001', 'Blood vessel'),
      anatomicRegion: sct('5665001', 'Retina'),
      // Red (CIELab about 53, 80, 67), scaled per PS3.3 C.10.7.1.1.
      displayCIELab: [34734, 53456, 50115],
    },
  },
  // Colours as in the report's overlay (Okabe–Ito blue, yellow, vermilion), CIELab scaled.
  'cardiac-mri-sax-seg': {
    rv_cavity: {
      label: 'Right ventricular cavity',
      category: ANATOMICAL_STRUCTURE,
      type: sct('53085002', 'Right ventricle'),
      anatomicRegion: sct('80891009', 'Heart'),
      displayCIELab: [30129, 32193, 22263],
    },
    lv_myocardium: {
      label: 'Left ventricular myocardium',
      category: ANATOMICAL_STRUCTURE,
      type: sct('49848007', 'Left Ventricle Myocardium'),
      anatomicRegion: sct('80891009', 'Heart'),
      displayCIELab: [58401, 29471, 52288],
    },
    lv_cavity: {
      label: 'Left ventricular cavity',
      category: ANATOMICAL_STRUCTURE,
      type: sct('87878005', 'Left Ventricle'),
      anatomicRegion: sct('80891009', 'Heart'),
      displayCIELab: [35512, 44018, 49160],
    },
  },
};

/** The description of a model's class, or undefined when the model or class has none. */
export function segmentDescription(modelId: string, classKey: string): SegmentDescription | undefined {
  return SEGMENT_DESCRIPTIONS[modelId]?.[classKey];
}
