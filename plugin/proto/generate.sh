#!/bin/sh
# Regenerates backendv1/ from backend.proto with pinned generators:
#   protoc              3.21.12  (Debian bookworm's protobuf-compiler; checked below)
#   protoc-gen-go       v1.36.12 (the google.golang.org/protobuf in go.mod, so the
#                                 generated code and its runtime always agree)
#   protoc-gen-go-grpc  v1.6.2   (matches google.golang.org/grpc v1.85 in go.mod)
# The generated code is committed; tests and builds never need these tools.
set -eu
cd "$(dirname "$0")"
want=3.21.12
got=$(protoc --version | awk '{print $2}')
[ "$got" = "$want" ] || { echo "protoc $got found, want $want (apt-get install protobuf-compiler on Debian 12)" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN=$bin go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
GOBIN=$bin go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
protoc --plugin=protoc-gen-go="$bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
	--go_out=../.. --go_opt=module=github.com/sharestore/sharestore \
	--go-grpc_out=../.. --go-grpc_opt=module=github.com/sharestore/sharestore \
	backend.proto
