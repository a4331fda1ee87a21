#!/usr/bin/python3
"""Wraps a few REAL paediatric chest radiographs into DICOM Part 10 files for tests and the demo.

    /usr/bin/python3 scripts/make-sample-dicom.py

Run it after models/pneumonia-cxr-28/evaluate.py (it reads that model's manifest.json and
model.onnx). Output: test/fixtures/cxr/*.dcm and test/fixtures/cxr/expected.json. Reruns
give byte-identical files (fixed UIDs from a fixed entropy root, fixed dates, no clock).

Source: kermany-cxr-224/test (Kermany et al., Cell 2018, ChestXRay2017, CC BY 4.0; the copy
resized to 224x224). These are TEST-split images: never used to train or choose the model.
Chosen deterministically by sorted file name: the first `*bacteria*` and the first `*virus*`
file in PNEUMONIA (two different patients, both pneumonia subtypes), the first two in NORMAL.

Every file must display (Modality LUT -> VOI LUT -> MONOCHROME1 inversion, PS3.3 C.11) to
exactly v/255, v the 8-bit grayscale of the JPEG (PIL convert('L')). The script checks this
by decoding each written file with pydicom and applying that pipeline, then runs the model on
the result. See test/fixtures/cxr/README.md for the per-variant formulas.
"""
import glob
import hashlib
import json
import os
import sys
import uuid

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get('CXR_DATA_DIR', os.path.join(ROOT, '..', 'shared', 'data'))
SRC = os.path.join(DATA, 'kermany-cxr-224', 'test')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'cxr')
MODEL_DIR = os.environ.get('CXR_MODEL_DIR', os.path.join(ROOT, 'models', 'pneumonia-cxr-28'))
UID_ROOT = 'imaging-cds/test/fixtures/cxr/v1'
DX_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.1'   # Digital X-Ray Image Storage - For Presentation

sys.dont_write_bytecode = True   # keep __pycache__ out of the model folder
sys.path.insert(0, MODEL_DIR)
from evaluate import OnnxNumpy, gray224_to_input, probability  # noqa: E402


def uid(*parts):
    """Deterministic 2.25 UID (ISO/IEC 9834-8) from a name-based UUID (v5, SHA-1).
    pydicom 2.3's generate_uid(prefix=None, ...) ignores entropy_srcs and returns a random
    UUID, so the UUID is built here from the fixed root and the parts instead."""
    return UID('2.25.' + str(uuid.uuid5(uuid.NAMESPACE_URL, '/'.join([UID_ROOT, *[str(p) for p in parts]])).int))


def pick_sources():
    pn = sorted(os.path.basename(f) for f in glob.glob(os.path.join(SRC, 'PNEUMONIA', '*.jpeg')))
    no = sorted(os.path.basename(f) for f in glob.glob(os.path.join(SRC, 'NORMAL', '*.jpeg')))
    bacteria = next(f for f in pn if 'bacteria' in f)
    virus = next(f for f in pn if 'virus' in f)
    return [('PNEUMONIA', bacteria), ('PNEUMONIA', virus), ('NORMAL', no[0]), ('NORMAL', no[1])]


# ----------------------------------------------------------------------------- display pipeline
def voi_linear(x, c, w):
    """VOI LUT function LINEAR, PS3.3 C.11.2.1.2.1, output range [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    y = (x - (c - 0.5)) / (w - 1) + 0.5
    y = np.where(x <= c - 0.5 - (w - 1) / 2, 0.0, y)
    y = np.where(x > c - 0.5 + (w - 1) / 2, 1.0, y)
    return y


def display_from_dicom(path):
    """Reference of the runtime path: stored -> Modality LUT -> VOI LINEAR -> MONOCHROME1 invert."""
    ds = pydicom.dcmread(path)
    s = ds.pixel_array.astype(np.float64)
    x = s * float(getattr(ds, 'RescaleSlope', 1)) + float(getattr(ds, 'RescaleIntercept', 0))
    fn = str(getattr(ds, 'VOILUTFunction', 'LINEAR')).upper()
    assert fn == 'LINEAR', fn
    y = voi_linear(x, float(ds.WindowCenter), float(ds.WindowWidth))
    if ds.PhotometricInterpretation == 'MONOCHROME1':
        y = 1.0 - y
    return y


# ----------------------------------------------------------------------------- writing
def base_dataset(meta, idx, label, jpeg, variant, transfer_syntax):
    n = f'{idx:02d}'
    study, series, sop = uid(jpeg, variant, 'study'), uid(jpeg, variant, 'series'), uid(jpeg, variant, 'sop')
    meta.MediaStorageSOPClassUID = DX_PRESENTATION
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = uid('implementation')
    meta.ImplementationVersionName = 'IMGCDS_SAMPLE1'
    ds = FileDataset(None, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian = transfer_syntax != ExplicitVRBigEndian
    ds.is_implicit_VR = transfer_syntax == ImplicitVRLittleEndian
    # SOP Common / Patient / General Study
    ds.SOPClassUID = DX_PRESENTATION
    ds.SOPInstanceUID = sop
    ds.ImageType = ['ORIGINAL', 'PRIMARY']
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = '20000101'
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = '120000'
    ds.AccessionNumber = f'SAMPLECXR{n}{variant.upper().replace("-", "")}'[:16]
    ds.Modality = 'DX'
    ds.PresentationIntentType = 'FOR PRESENTATION'
    ds.Manufacturer = 'imaging-cds sample generator'
    ds.ReferringPhysicianName = ''
    ds.StudyDescription = 'XR CHEST AP'
    ds.SeriesDescription = f'CHEST AP ({variant})'
    ds.PatientName = f'SAMPLE^CXR^{n}'
    ds.PatientID = f'SAMPLE-CXR-{n}'
    ds.PatientBirthDate = ''
    ds.PatientSex = ''
    ds.PatientIdentityRemoved = 'YES'
    ds.BodyPartExamined = 'CHEST'
    ds.ViewPosition = 'AP'
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.StudyID = n
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ['L', 'F']
    ds.ImageLaterality = 'U'
    ds.BurnedInAnnotation = 'NO'
    ds.LossyImageCompression = '01'                 # the source JPEG was lossy
    ds.LossyImageCompressionMethod = 'ISO_10918_1'
    ds.ImageComments = (f'NOT FOR CLINICAL USE. Real test-split image {label}/{jpeg} of Kermany et al. '
                        f'ChestXRay2017 (CC BY 4.0), 224x224 copy, ground truth {label}; wrapped into '
                        f'DICOM by scripts/make-sample-dicom.py. View position assumed AP.')
    # Image Pixel
    ds.SamplesPerPixel = 1
    ds.Rows = 224
    ds.Columns = 224
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = 'US'
    ds.PixelIntensityRelationship = 'LIN'
    return ds


def set_pixels(ds, stored, bits_stored, photometric):
    ds.PhotometricInterpretation = photometric
    ds.PresentationLUTShape = 'INVERSE' if photometric == 'MONOCHROME1' else 'IDENTITY'
    # Sign -1: higher stored value = less X-ray beam intensity (bright bone in MONOCHROME2).
    ds.PixelIntensityRelationshipSign = 1 if photometric == 'MONOCHROME1' else -1
    if bits_stored == 8:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        data = stored.astype(np.uint8).tobytes()
        vr = 'OB' if not ds.is_implicit_VR else 'OW'
    else:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
        data = stored.astype('<u2' if ds.is_little_endian else '>u2').tobytes()
        vr = 'OW'
    ds.add_new(0x7FE00010, vr, data)


def write(path, ds):
    ds.save_as(path, write_like_original=False)


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    with open(os.path.join(MODEL_DIR, 'manifest.json')) as f:
        manifest = json.load(f)
    label_cfg = manifest['output']['labels'][1]
    T = float(manifest['output']['temperature'])
    thr = float(label_cfg['threshold'])
    band = label_cfg['reviewBand']
    runner = OnnxNumpy(os.path.join(MODEL_DIR, manifest['file']))
    os.makedirs(OUT, exist_ok=True)
    for old in glob.glob(os.path.join(OUT, '*.dcm')):
        os.remove(old)

    files = []
    for i, (folder, jpeg) in enumerate(pick_sources(), start=1):
        label = folder.lower()
        v = np.asarray(Image.open(os.path.join(SRC, folder, jpeg)).convert('L'))   # uint8 224x224
        assert v.shape == (224, 224) and v.dtype == np.uint8
        stem = f'{label}-{os.path.splitext(jpeg)[0]}'
        logits = runner.run(gray224_to_input(v)[None])[0]
        p = float(probability(logits[None], T)[0])

        variants = [('mono2-8bit', ExplicitVRLittleEndian, 'MONOCHROME2', 8)]
        if i == 1:
            variants += [('mono1-16bit', ExplicitVRLittleEndian, 'MONOCHROME1', 12),
                         ('implicit-le', ImplicitVRLittleEndian, 'MONOCHROME2', 8),
                         ('big-endian', ExplicitVRBigEndian, 'MONOCHROME2', 12)]
        for variant, ts, photometric, bits in variants:
            meta = FileMetaDataset()
            ds = base_dataset(meta, i, folder, jpeg, variant, ts)
            if bits == 8:
                # display = LINEAR(v; c=128, w=256) = (v - 127.5)/255 + 0.5 = v/255 exactly
                stored, c, w = v, 128, 256
            elif photometric == 'MONOCHROME1':
                # s = 16 (255 - v) in 0..4080; LINEAR(s; c=2040.5, w=4081) = s/4080;
                # inverted: 1 - s/4080 = 1 - (255 - v)/255 = v/255 exactly
                stored, c, w = (255 - v.astype(np.uint16)) * 16, 2040.5, 4081
            else:
                # s = 16 v in 0..4080; LINEAR(s; c=2040.5, w=4081) = s/4080 = v/255 exactly
                stored, c, w = v.astype(np.uint16) * 16, 2040.5, 4081
            ds.WindowCenter = c
            ds.WindowWidth = w
            ds.WindowCenterWidthExplanation = 'IDENTITY: displays the source 8-bit image'
            set_pixels(ds, stored, bits, photometric)
            name = f'{stem}-{variant}.dcm'
            path = os.path.join(OUT, name)
            write(path, ds)

            # Check: decode the written file and run the runtime's display pipeline on it.
            disp = display_from_dicom(path)
            err = float(np.abs(disp - v / 255.0).max())
            assert err < 1e-12, (name, err)
            back = pydicom.dcmread(path)
            assert back.file_meta.TransferSyntaxUID == ts and back.PhotometricInterpretation == photometric
            x = disp.reshape(28, 8, 28, 8).mean(axis=(1, 3))
            l2 = runner.run(((x - 0.5) / 0.5)[None, None])[0]
            p2 = float(probability(l2[None], T)[0])
            assert abs(p2 - p) < 1e-9, (name, p, p2)

            files.append({
                'file': name,
                'sourceImage': f'kermany-cxr-224/test/{folder}/{jpeg}',
                'label': label,
                'labelIndex': 0 if label == 'normal' else 1,
                'transferSyntaxUID': ts,
                'photometricInterpretation': photometric,
                'bitsAllocated': int(back.BitsAllocated), 'bitsStored': int(back.BitsStored),
                'windowCenter': c, 'windowWidth': w,
                'patientID': str(back.PatientID),
                'studyInstanceUID': str(back.StudyInstanceUID),
                'seriesInstanceUID': str(back.SeriesInstanceUID),
                'sopInstanceUID': str(back.SOPInstanceUID),
                'logits': [float(logits[0]), float(logits[1])],
                'probability': p,
                'interpretation': 'positive' if p >= thr else 'negative',
                'needsReview': bool(band[0] <= p <= band[1]),
                'sha256': sha256(path),
            })
            print(f'{name}: p(pneumonia)={p:.6f} label={label} display max err {err:.1e}')

    expected = {
        'description': 'Real Kermany ChestXRay2017 test-split radiographs wrapped into DICOM. probability = '
                       'softmax(logits / temperature)[1] of models/pneumonia-cxr-28/model.onnx for the source '
                       'JPEG: 8-bit grayscale (PIL convert("L")) / 255, area-resized 224->28 (exact 8x8 block '
                       'mean), (v - 0.5) / 0.5, float64 reference executor. Every file displays to exactly v/255, '
                       'so the DICOM path must give the same probability (tolerance 1e-3; float32 runtimes '
                       'agree to ~1e-6).',
        'generatedBy': 'scripts/make-sample-dicom.py',
        'model': {'id': manifest['id'], 'version': manifest['version'], 'temperature': T,
                  'threshold': thr, 'reviewBand': band},
        'tolerance': 1e-3,
        'files': files,
    }
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')
    print(f'wrote {len(files)} files and expected.json to {OUT}')


if __name__ == '__main__':
    main()
