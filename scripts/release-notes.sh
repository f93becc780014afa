#!/usr/bin/env bash
# Release notes in Markdown from the conventional commits since the previous tag:
#   scripts/release-notes.sh [REF]        (default HEAD; "previous" = the newest v* tag before REF)
# Subjects like "feat(chat): …", "fix: …", "perf: …" are grouped; "type!:" or a
# "BREAKING CHANGE:" footer lists the commit under breaking changes as well; anything else goes
# under "Other changes". Needs the full history (actions/checkout with fetch-depth: 0).
set -euo pipefail
cd "$(dirname "$0")/.."

ref="${1:-HEAD}"
prev=$(git describe --tags --abbrev=0 --match 'v*' "$ref^" 2>/dev/null || true)
if [ -n "$prev" ]; then range="$prev..$ref"; else range="$ref"; fi

declare -A groups=()
breaking=""
# One record per commit: hash, subject, body; fields split by 0x1f, records by 0x1e.
while IFS=$'\x1f' read -r -d $'\x1e' hash subject body; do
  hash="${hash//$'\n'/}"
  [ -n "$hash" ] || continue
  type="other"
  text="$subject"
  if [[ "$subject" =~ ^([a-z]+)(\([^\)]*\))?(!)?:[[:space:]]+(.*)$ ]]; then
    type="${BASH_REMATCH[1]}"
    scope="${BASH_REMATCH[2]}"
    text="${BASH_REMATCH[4]}"
    [ -n "$scope" ] && text="**${scope:1:${#scope}-2}:** $text"
    if [ -n "${BASH_REMATCH[3]}" ]; then breaking+="- $text ($hash)"$'\n'; fi
  fi
  if [[ "$body" == *"BREAKING CHANGE:"* || "$body" == *"BREAKING-CHANGE:"* ]]; then
    breaking+="- $text ($hash)"$'\n'
  fi
  case "$type" in
    feat) key=feat ;;
    fix) key=fix ;;
    perf) key=perf ;;
    sec | security) key=security ;;
    docs) key=docs ;;
    *) key=other ;;
  esac
  groups[$key]+="- $text ($hash)"$'\n'
done < <(git log --no-merges --format='%h%x1f%s%x1f%b%x1e' "$range")

version="${ref#v}"
[ "$ref" = HEAD ] && version="unreleased"
echo "## OpenCode Nexus $version"
echo
if [ -n "$prev" ]; then echo "Changes since $prev."; else echo "First release."; fi
if [ -n "$breaking" ]; then printf '\n### Breaking changes\n\n%s' "$breaking"; fi
for key in security feat fix perf docs other; do
  [ -n "${groups[$key]:-}" ] || continue
  case "$key" in
    security) title="Security" ;;
    feat) title="Features" ;;
    fix) title="Fixes" ;;
    perf) title="Performance" ;;
    docs) title="Documentation" ;;
    other) title="Other changes" ;;
  esac
  printf '\n### %s\n\n%s' "$title" "${groups[$key]}"
done
cat <<'EOF'

### Verifying downloads

`SHA256SUMS` lists every file's SHA-256; each file has a detached Ed25519 signature
(`<file>.sig`, base64) made with the release key whose public half is compiled into the app.
Check one with `nexus-release verify --public-key Is+AwcgutK7Hvh9xVExWseiaabeDRendyXyZ8PgK52g= FILE`.
EOF
