#!/usr/bin/env bash
# Installs the real servers and fixture sources the tests start and read: Orthanc with DICOMweb
# + GDCM (PACS), redis-server (the shared job queue), Debian's pydicom and numpy (real DICOM test files and a reference decoder),
# dcmtk and GDCM tools (independent decoders), dicom3tools (dciodvfy checks the SEG and SR the service
# writes), Debian's chromium (the browser suites drive it with puppeteer-core, which downloads no browser).
# Idempotent: does nothing when all are present.
# Installs with apt-get as root, or through passwordless sudo; otherwise it stops before the
# tests with the one command to run.
set -euo pipefail

need=()
# Debian installs Orthanc in /usr/sbin, which is not on a normal user's PATH.
[ -x /usr/sbin/Orthanc ] || command -v Orthanc >/dev/null 2>&1 || need+=(orthanc)
[ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
[ -f /usr/share/orthanc/plugins/libOrthancGdcm.so ] || need+=(orthanc-gdcm)
[ -d /usr/lib/python3/dist-packages/pydicom/data/test_files ] || need+=(python3-pydicom)
# pydicom's pixel reading needs numpy, which --no-install-recommends leaves out.
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || need+=(python3-numpy)
command -v dcmdump >/dev/null 2>&1 || need+=(dcmtk)
command -v gdcmconv >/dev/null 2>&1 || need+=(libgdcm-tools)
# dciodvfy validates the DICOM SEG and SR objects (results back to the PACS); dsrdump (dcmtk) reads the SR.
command -v dciodvfy >/dev/null 2>&1 || need+=(dicom3tools)
# The job-queue suites start their own redis-server (no service, no persistence).
[ -x /usr/bin/redis-server ] || command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The viewer and operations-page suites (test/browser) run in this browser (executablePath /usr/bin/chromium).
[ -x /usr/bin/chromium ] || need+=(chromium)

[ ${#need[@]} -eq 0 ] && exit 0

install_cmd="apt-get update && apt-get install -y --no-install-recommends ${need[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "provision: the tests need ${need[*]} (Debian package names) and this machine has no apt-get; install them, then run npm test again" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "provision: the tests need Debian packages that are not installed. Run as root, then npm test again:" >&2
  echo "  sudo sh -c '$install_cmd'" >&2
  exit 1
fi
echo "provision: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
