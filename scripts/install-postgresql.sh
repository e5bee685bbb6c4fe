#!/usr/bin/env bash
# Installs Debian's PostgreSQL server, at a pinned version, for the tests
# that need PostgreSQL. They never use a system cluster:
# internal/emulators starts a throwaway one with initdb and postgres from
# /usr/lib/postgresql/MAJOR/bin, as an unprivileged user, on a free
# 127.0.0.1 port.
#
# The pin is the Debian package version of postgresql-15. Debian replaces
# a package on its mirrors with each point and security release, so a pin
# can vanish from the mirror; then this installs the version the mirror
# has, and says so loudly with both versions, rather than leave the
# machine without a server. Set SHARESTORE_POSTGRES_STRICT=1 to fail
# instead. A server already installed at the pinned version is kept as it
# is (no network).
set -euo pipefail

POSTGRES_VERSION=15.18-0+deb12u1

installed() { dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true; }

have=$(installed)
if [ "$have" = "$POSTGRES_VERSION" ]; then
	exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "install-postgresql.sh: PostgreSQL $POSTGRES_VERSION is needed (have: ${have:-none}); run this script as root, or install sudo" >&2
		exit 1
	fi
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq --no-install-recommends \
	"postgresql-15=$POSTGRES_VERSION" "postgresql-client-15=$POSTGRES_VERSION" "libpq5=$POSTGRES_VERSION"; then
	if [ "${SHARESTORE_POSTGRES_STRICT:-}" = 1 ]; then
		echo "install-postgresql.sh: PostgreSQL $POSTGRES_VERSION is not on the mirror" >&2
		exit 1
	fi
	$SUDO apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15
	echo "install-postgresql.sh: WARNING: the pinned PostgreSQL $POSTGRES_VERSION is no longer on the Debian mirror; installed $(installed) instead. Update POSTGRES_VERSION in scripts/install-postgresql.sh." >&2
fi
/usr/lib/postgresql/15/bin/postgres --version
