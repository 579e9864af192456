#!/usr/bin/env bash
# Regenerates the GOV.UK Frontend files in crates/web/assets/ from pinned npm
# packages. Needs node + npm and the npm registry. Run from anywhere:
#   tools/build-assets.sh
# Files it writes: govuk-frontend.min.css, govuk-frontend.min.js, manifest.json,
# images/*. Hand-written files (init.js, app.css, README.md) are left alone.
set -euo pipefail

GOVUK_FRONTEND_VERSION=6.6.0
SASS_VERSION=1.108.2

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo_root/crates/web/assets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init -y >/dev/null
npm install --save-exact --no-audit --no-fund --loglevel=error \
  "govuk-frontend@$GOVUK_FRONTEND_VERSION" "sass@$SASS_VERSION" >/dev/null

pkg="$work/node_modules/govuk-frontend/dist/govuk"

# Arial instead of GDS Transport (which may only be used on GOV.UK), no
# @font-face, assets served by the app under /assets/.
cat > main.scss <<'SCSS'
@use "govuk-frontend/dist/govuk" with (
  $govuk-font-family: (arial, sans-serif),
  $govuk-include-default-font-face: false,
  $govuk-assets-path: "/assets/"
);
SCSS
./node_modules/.bin/sass --style=compressed --no-source-map --load-path=node_modules \
  main.scss govuk-frontend.min.css

# Sanity: no font files, no GDS Transport, only /assets/ URLs that we ship.
if grep -Eqi '@font-face|GDS Transport|\.woff2?' govuk-frontend.min.css; then
  echo "build-assets: compiled CSS still references fonts" >&2
  exit 1
fi

mkdir -p "$out/images"
cp govuk-frontend.min.css "$out/govuk-frontend.min.css"
# Prebuilt ES-module bundle; drop the sourceMappingURL comment (the map is not shipped).
sed -e 's|//# sourceMappingURL=[^ ]*$||' "$pkg/govuk-frontend.min.js" > "$out/govuk-frontend.min.js"
cp "$pkg/assets/manifest.json" "$out/manifest.json"
for img in favicon.ico favicon.svg govuk-crest.svg govuk-icon-180.png \
           govuk-icon-192.png govuk-icon-512.png govuk-icon-mask.svg; do
  cp "$pkg/assets/images/$img" "$out/images/$img"
done

# Every url() in the CSS must point at a file we ship.
for u in $(grep -o 'url("[^"]*")' "$out/govuk-frontend.min.css" | sed -e 's/^url("//' -e 's/")$//' | sort -u); do
  case "$u" in
    /assets/*) [ -f "$out/${u#/assets/}" ] || { echo "build-assets: missing $u" >&2; exit 1; } ;;
    data:*) ;;
    *) echo "build-assets: unexpected url $u" >&2; exit 1 ;;
  esac
done

echo "build-assets: govuk-frontend $GOVUK_FRONTEND_VERSION (sass $SASS_VERSION) -> $out"
