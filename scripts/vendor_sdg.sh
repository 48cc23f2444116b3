#!/usr/bin/env bash
# Re-vendors the Québec government's design system (Système de design gouvernemental, SDG)
# from npm into gateway/static/sdg/: its built stylesheet without the grid, its fonts, the
# government signature and the favicon. The files are committed, so `make run` needs no Node;
# run this (`make vendor-sdg`) only to move to another version: set SDG_VERSION and commit.
set -euo pipefail
SDG_VERSION="${SDG_VERSION:-1.5.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/gateway/static/sdg"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "qc-trousse-sdg@$SDG_VERSION" >/dev/null && tar xzf qc-trousse-sdg-*.tgz)
PACKAGE="$WORK/package"
rm -rf "$TARGET/css" "$TARGET/fonts" "$TARGET/img"
mkdir -p "$TARGET/css" "$TARGET/fonts" "$TARGET/img"
cp "$PACKAGE/dist/css/qc-sdg-no-grid.min.css" "$TARGET/css/"
cp "$PACKAGE"/dist/fonts/*.woff2 "$TARGET/fonts/"
cp "$PACKAGE/dist/img/QUEBEC_blanc.svg" "$PACKAGE/dist/img/QUEBEC_couleur.svg" "$TARGET/img/"
cp "$PACKAGE/public/img/favicon.ico" "$TARGET/img/"
LICENSE="$(node -p "require('$PACKAGE/package.json').license")"
cat > "$TARGET/VERSION" <<VERSION
qc-trousse-sdg $SDG_VERSION
licence: $LICENSE (package.json of the npm package)
source: https://registry.npmjs.org/qc-trousse-sdg/-/qc-trousse-sdg-$SDG_VERSION.tgz
VERSION
echo "SDG $SDG_VERSION vendored into $TARGET"
