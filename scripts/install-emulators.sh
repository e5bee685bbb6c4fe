#!/usr/bin/env bash
# Installs the storage emulators used by the cloud backend tests: MinIO and
# fake-gcs-server with `go install` at pinned module versions, Azurite with
# `npm ci` from internal/emulators/azurite's lock file.
#
# The builds are cached outside the clone, one directory per tool and
# version, under $SHARESTORE_TOOLS_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/sharestore/emulators), so a fresh clone on
# the same machine links them instead of rebuilding them (MinIO alone takes
# about 20 minutes on 2 cores). .tools/bin in the clone (gitignored) holds
# symbolic links to the cached builds. A cached build is complete or absent:
# each is built in a temporary directory and renamed into place.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.tools/bin
CACHE=${SHARESTORE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sharestore/emulators}
mkdir -p "$BIN" "$CACHE"

# Pinned versions. MinIO tags releases as RELEASE.<date>, which are not semver,
# so the module proxy knows it by a pseudo-version; that pseudo-version is the
# pin. Neither module's go.mod has replace directives, so `go install
# module@version` builds them as published.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
FAKEGCS_VERSION=v1.56.1

# cached NAME KEY prints the directory that holds NAME at KEY in the cache.
cached() { echo "$CACHE/$1/$2"; }

# build_into DIR CMD... runs CMD with $OUT set to a fresh temporary directory
# beside DIR and renames it to DIR when CMD succeeds.
build_into() {
	local dir=$1
	shift
	mkdir -p "$(dirname "$dir")"
	local tmp
	tmp=$(mktemp -d "$dir.tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	OUT=$tmp "$@"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	trap - EXIT
}

go_build() { # module version (into $OUT)
	GOBIN=$OUT GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install -trimpath "$1@$2"
}

install_go() { # name module version
	local name=$1 mod=$2 ver=$3 dir
	dir=$(cached "$name" "$ver")
	if [[ ! -x $dir/$name ]]; then
		echo "install-emulators: go install $mod@$ver (cached in $dir)" >&2
		build_into "$dir" go_build "$mod" "$ver"
	fi
	ln -sfn "$dir/$name" "$BIN/$name"
}

install_go minio github.com/minio/minio "$MINIO_VERSION"
install_go fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKEGCS_VERSION"

# Azurite: npm ci from the committed package.json and package-lock.json,
# cached under the lock file's hash.
AZ_SRC=$ROOT/internal/emulators/azurite
npm_build() {
	cp "$AZ_SRC/package.json" "$AZ_SRC/package-lock.json" "$OUT/"
	(cd "$OUT" && npm ci --no-audit --no-fund --loglevel=error)
}
lockhash=$(sha256sum "$AZ_SRC/package-lock.json" | cut -c1-16)
AZ_DIR=$(cached azurite "$lockhash")
if [[ ! -x $AZ_DIR/node_modules/.bin/azurite-blob ]]; then
	echo "install-emulators: npm ci azurite (cached in $AZ_DIR)" >&2
	build_into "$AZ_DIR" npm_build
fi
ln -sfn "$AZ_DIR/node_modules/.bin/azurite-blob" "$BIN/azurite-blob"
