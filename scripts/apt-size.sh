#!/usr/bin/env bash
# Prints how much the Debian packages that setup.sh installs would add to a minimal Debian
# (Priority: required and Essential packages with their dependencies), with and without
# recommends, by simulation (`apt-get install -s`): nothing is installed or removed. The README's
# quick start quotes its figures. Needs python3 and this machine's apt lists (apt-get update).
#
#   bash scripts/apt-size.sh                  the demo, demo --check and test sets
#   bash scripts/apt-size.sh pkg...           the given packages
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a dpkg status file holding only the minimal system's installed packages
python3 - "$tmp/status" <<'PY'
import re, sys
stanzas = open('/var/lib/dpkg/status').read().strip().split('\n\n')
installed, provides = {}, {}
for stanza in stanzas:
    fields, key = {}, None
    for line in stanza.split('\n'):
        if line.startswith(' ') and key:
            fields[key] += '\n' + line
            continue
        key, _, value = line.partition(':')
        fields[key] = value.strip()
    if 'install ok installed' not in fields.get('Status', ''):
        continue
    name = fields['Package'].split(':')[0]
    installed[name] = (fields, stanza)
    for p in filter(None, re.split(r',\s*', fields.get('Provides', ''))):
        provides.setdefault(p.split()[0].split(':')[0], name)
todo = [n for n, (f, _) in installed.items() if f.get('Priority') == 'required' or f.get('Essential') == 'yes']
keep = set()
while todo:
    name = todo.pop()
    if name in keep or name not in installed:
        continue
    keep.add(name)
    fields = installed[name][0]
    for dep in filter(None, re.split(r',\s*', fields.get('Pre-Depends', '') + ',' + fields.get('Depends', ''))):
        for alt in dep.split('|'):
            alt = alt.strip().split()[0].split(':')[0]
            target = alt if alt in installed else provides.get(alt)
            if target:
                todo.append(target)
                break
open(sys.argv[1], 'w').write('\n\n'.join(installed[n][1] for n in sorted(keep)) + '\n')
print(f'minimal system: {len(keep)} packages', file=sys.stderr)
PY
size() {
  apt-get install -s -o Dir::State::status="$tmp/status" -o Debug::NoLocking=1 "$@" 2>/dev/null \
    | awk '/^Inst /{print $2}' > "$tmp/list"
  xargs -r apt-cache show --no-all-versions < "$tmp/list" 2>/dev/null | awk -v n="$(wc -l < "$tmp/list")" '
    /^Size:/ { dl += $2 } /^Installed-Size:/ { disk += $2 }
    END { printf "%4d packages, %4.0f MB to download, %5.0f MB on disk\n", n, dl / 1e6, disk * 1024 / 1e6 }'
}
report() {
  local what=$1; shift
  printf '%-14s with recommends:    %s\n' "$what" "$(size "$@")"
  printf '%-14s without recommends: %s\n' "$what" "$(size --no-install-recommends "$@")"
}
if (($#)); then report given "$@"; exit 0; fi
# the sets of scripts/demo.sh, demo.sh --check and test.sh
report demo iproute2 util-linux
report 'demo --check' iproute2 util-linux chromium
report tests iproute2 util-linux ffmpeg chromium firefox-esr coturn opencv-doc python3-skimage python3-pil python3-torch python3-onnx
