#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build what changed, then run a relay
# node and the web call app (examples/web-call) on 127.0.0.1 until Ctrl-C. Open the printed
# address in two windows of a browser on this machine, register an AuraID in each, and call one
# from the other.
#
#   bash scripts/demo.sh            relay on 127.0.0.1:4001 (AURALINK_RELAY_PORT), /healthz on :4002
#                                   (AURALINK_RELAY_HTTP_PORT), the app on :5173 (DEMO_WEB_PORT)
#   bash scripts/demo.sh --check    instead of waiting: two headless Chromium pages make one call
#                                   through the app (e2e/web-call.e2e.test.ts); exit status 0 or 1
#   bash scripts/demo.sh --chat     the scripted terminal chat of examples/node-chat (npm run demo:chat)
#
# The browser must run on the machine that runs the demo: the app and the relay listen on
# 127.0.0.1 only. From another computer, forward both ports over SSH and open the address there:
#   ssh -L 5173:127.0.0.1:5173 -L 4001:127.0.0.1:4001 user@demo-machine
# Unlike the tests, this runs outside any network namespace: the browsers are a person's own, and
# their WebRTC connection uses their machine's interfaces.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=serve
case "${1:-}" in
  '') ;;
  --check) mode=check ;;
  --chat) mode=chat ;;
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "demo.sh: unknown argument '$1' (usage: bash scripts/demo.sh [--check | --chat])" >&2; exit 2 ;;
esac

if [ "$mode" = check ]; then
  EXTRA_DEBIAN="chromium:chromium" source scripts/setup.sh
  node scripts/build-changed.mjs
  # the e2e harness: a real relay process, the app built and served by its server.mjs, two
  # Chromium pages with fake camera and microphone, inside the test network namespace
  exec scripts/netns.sh vitest run --project e2e e2e/web-call.e2e.test.ts
fi

source scripts/setup.sh
node scripts/build-changed.mjs

if [ "$mode" = chat ]; then
  # a real relay and two chat clients inside the test network namespace (works with loopback only)
  exec scripts/netns.sh node scripts/demo.mjs
fi

web_port="${DEMO_WEB_PORT:-5173}"
relay_port="${AURALINK_RELAY_PORT:-4001}"
relay_http_port="${AURALINK_RELAY_HTTP_PORT:-4002}"
data_dir=.auralink/demo-relay
relay_log=.auralink/demo-relay.log
web_log=.auralink/demo-web.log
# a fresh relay each run: names registered in an earlier run (perhaps by another browser, whose
# key this one does not have) would otherwise refuse @alice.aura with NAME_TAKEN
rm -rf "$data_dir"
mkdir -p "$data_dir"
: > "$relay_log"
: > "$web_log"

# Each child in a process group of its own (job control), so that Ctrl-C reaches this script
# alone and each child gets exactly one SIGTERM from stop_children (a second signal makes the
# relay exit at once, without a clean stop).
set -m
pids=()
stop_children() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  local pid code
  for pid in "${pids[@]}"; do
    code=0
    wait "$pid" 2>/dev/null || code=$?
    [ "$code" = 0 ] || echo "demo: process $pid exited with $code" >&2
  done
  pids=()
}
trap 'echo; echo "demo: stopping the relay node and the web app"; stop_children; exit 0' INT TERM
trap stop_children EXIT

# wait_for <log> <regex> <pid> <what>: prints the first match of regex in log once it appears
wait_for() {
  local log=$1 regex=$2 pid=$3 what=$4 match
  for _ in $(seq 1 300); do
    match=$(grep -m1 -oE "$regex" "$log" || true)
    if [ -n "$match" ]; then echo "$match"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: the $what stopped before it was ready:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "demo: the $what was not ready within 30 s; its log ($log):" >&2
  cat "$log" >&2
  return 1
}

node relay-node/dist/cli.js --host 127.0.0.1 --port "$relay_port" --http-port "$relay_http_port" --recording \
  --stream-host 127.0.0.1:1935 --data-dir "$data_dir" --log-level warn >"$relay_log" 2>&1 &
pids+=($!)
relay_addr=$(wait_for "$relay_log" '/ip4/127\.0\.0\.1/tcp/[0-9]+/ws/p2p/[A-Za-z0-9]+' "${pids[0]}" "relay node")

node examples/web-call/server.mjs --port "$web_port" --relay "$relay_addr" --relay-http "http://127.0.0.1:$relay_http_port" >"$web_log" 2>&1 &
pids+=($!)
web_url=$(wait_for "$web_log" 'http://127\.0\.0\.1:[0-9]+' "${pids[1]}" "web app server")

cat <<EOF

demo: relay node  $relay_addr
                  (health: http://127.0.0.1:$relay_http_port/healthz, log: $relay_log)
demo: web app     $web_url  (log: $web_log)

  open $web_url in two browser windows, register @alice.aura in one and @bob.aura in the other, call;
  Record asks the other window, and once it allows, the relay records both (files in $data_dir/recordings);
  Stream does the same for a live stream to an RTMP server on this machine's port 1935 (nginx with
  libnginx-mod-rtmp, for one): type rtmp://127.0.0.1:1935/live/demo and watch it with ffplay

  (the relay field is filled in; allow the camera and microphone when the browser asks)
  The browser must run on this machine. From another computer, forward both ports and open
  the same address there:  ssh -L $web_port:127.0.0.1:$web_port -L $relay_port:127.0.0.1:$relay_port <this machine>
demo: running until Ctrl-C

EOF

# until Ctrl-C (the trap) or a child stops on its own
set +e
wait -n "${pids[@]}"
status=$?
set -e
echo "demo: a child process stopped unexpectedly (exit $status); logs: $relay_log, $web_log" >&2
exit 1
