#!/usr/bin/env bash
# Installs the storage emulators used by the cloud backend tests into
# .tools/ (gitignored): MinIO and fake-gcs-server with `go install` at pinned
# module versions, Azurite with `npm ci` from internal/emulators/azurite's
# lock file. Idempotent: a tool whose pinned version is already installed is
# not rebuilt, so a second run takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
BIN=$TOOLS/bin
mkdir -p "$BIN"

# Pinned versions. MinIO tags releases as RELEASE.<date>, which are not semver,
# so the module proxy knows it by a pseudo-version; that pseudo-version is the
# pin. Neither module's go.mod has replace directives, so `go install
# module@version` builds them as published.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
FAKEGCS_VERSION=v1.56.1

install_go() { # name module version
	local name=$1 mod=$2 ver=$3 stamp=$BIN/.$1.version
	if [[ -x $BIN/$name && -f $stamp && $(cat "$stamp") == "$ver" ]]; then
		return 0
	fi
	echo "install-emulators: go install $mod@$ver" >&2
	GOBIN=$BIN GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install -trimpath "$mod@$ver"
	echo "$ver" >"$stamp"
}

install_go minio github.com/minio/minio "$MINIO_VERSION"
install_go fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKEGCS_VERSION"

# Azurite: npm ci into .tools/azurite from the committed package.json and
# package-lock.json, re-run only when the lock file changes.
AZ_SRC=$ROOT/internal/emulators/azurite
AZ_DIR=$TOOLS/azurite
lockhash=$(sha256sum "$AZ_SRC/package-lock.json" | cut -d' ' -f1)
if [[ ! -x $AZ_DIR/node_modules/.bin/azurite-blob || ! -f $AZ_DIR/.lockhash || $(cat "$AZ_DIR/.lockhash") != "$lockhash" ]]; then
	echo "install-emulators: npm ci azurite" >&2
	mkdir -p "$AZ_DIR"
	cp "$AZ_SRC/package.json" "$AZ_SRC/package-lock.json" "$AZ_DIR/"
	(cd "$AZ_DIR" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$lockhash" >"$AZ_DIR/.lockhash"
fi
ln -sf "$AZ_DIR/node_modules/.bin/azurite-blob" "$BIN/azurite-blob"
