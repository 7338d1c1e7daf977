#!/usr/bin/env bash
# Debian packages the suite needs: PostgreSQL (production database and the
# test suite), Chromium (browser tests), CJK fonts (Chinese in screenshots
# and PDFs), LibreOffice Writer (payment notices and receipts converted to
# PDF) and poppler-utils (pdftotext, to check the PDFs in the tests).
# Installed only when run as root and only what is missing; otherwise the
# missing ones are listed.  The meter photos are read by RapidOCR, a
# Python package of requirements.txt.
set -euo pipefail
packages=(postgresql chromium fonts-noto-cjk
    libreoffice-writer-nogui poppler-utils)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "Missing system packages (install them as root): ${missing[*]}" >&2
fi
