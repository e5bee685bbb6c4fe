#!/usr/bin/env bash
# Installs Debian's Chromium, which the status page's browser test drives
# headless (internal/cli/serve_browser_test.go), at a pinned version.
#
# The pin is the Debian package version. Debian replaces a Chromium package
# on its mirrors with each security release, so a pin can vanish from the
# mirror; then this installs the version the mirror has, and says so loudly
# with both versions, rather than leave the machine without a browser. Set
# SHARESTORE_CHROMIUM_STRICT=1 to fail instead. A Chromium already installed
# at the pinned version is kept as it is (no network).
set -euo pipefail

CHROMIUM_VERSION=156.0.8078.114-1~deb12u1

installed() { dpkg-query -W -f='${Version}' chromium 2>/dev/null || true; }

have=$(installed)
if [ "$have" = "$CHROMIUM_VERSION" ]; then
	exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "install-chromium.sh: Chromium $CHROMIUM_VERSION is needed (have: ${have:-none}); run this script as root, or install sudo" >&2
		exit 1
	fi
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq --no-install-recommends "chromium=$CHROMIUM_VERSION" "chromium-common=$CHROMIUM_VERSION"; then
	if [ "${SHARESTORE_CHROMIUM_STRICT:-}" = 1 ]; then
		echo "install-chromium.sh: Chromium $CHROMIUM_VERSION is not on the mirror" >&2
		exit 1
	fi
	$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-common
	echo "install-chromium.sh: WARNING: the pinned Chromium $CHROMIUM_VERSION is no longer on the Debian mirror; installed $(installed) instead. Update CHROMIUM_VERSION in scripts/install-chromium.sh." >&2
fi
/usr/bin/chromium --version
