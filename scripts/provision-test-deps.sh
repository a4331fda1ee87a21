#!/usr/bin/env bash
# Installs the real servers and fixture sources the integration tests start and read:
# Orthanc with DICOMweb + GDCM (PACS), Debian's pydicom (its real DICOM test files), dcmtk
# (independent decoder). Idempotent: does nothing when they are present. Needs root or sudo
# on Debian; elsewhere it says what is missing and the test suites that need it fail loudly.
set -euo pipefail

need=()
command -v Orthanc >/dev/null 2>&1 || need+=(orthanc)
[ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
[ -f /usr/share/orthanc/plugins/libOrthancGdcm.so ] || need+=(orthanc-gdcm)
[ -d /usr/lib/python3/dist-packages/pydicom/data/test_files ] || need+=(python3-pydicom)
command -v dcmdump >/dev/null 2>&1 || need+=(dcmtk)
command -v gdcmconv >/dev/null 2>&1 || need+=(libgdcm-tools)
# pydicom's pixel reading needs numpy, which --no-install-recommends leaves out.
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || need+=(python3-numpy)

[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "provision: missing ${need[*]} and no apt-get here; install them by hand" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "provision: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
