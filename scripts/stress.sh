#!/usr/bin/env bash
# Runs a command while a bounded CPU load runs alongside it: stress-ng's CPU workers start just
# before the command and are stopped when it exits (also on failure, Ctrl-C or a signal), and
# stop by themselves after AURALINK_STRESS_MAX_S in any case. The command's exit status is the
# script's. Prints the load average at start and end.
#
# Usage: scripts/stress.sh <command> [args...]
#   AURALINK_STRESS_WORKERS  CPU workers (default 2: one per core of the 2-core machines we test on)
#   AURALINK_STRESS_LOAD     percent of a core each worker keeps busy, 1-100 (default 100)
#   AURALINK_STRESS_MAX_S    seconds after which the load stops whatever happens (default 7200)
# Needs stress-ng (Debian package stress-ng). See docs/testing.md "Under load".
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/stress.sh <command> [args...]" >&2
  exit 2
fi
if ! command -v stress-ng >/dev/null; then
  echo "stress.sh: needs stress-ng (Debian package stress-ng: apt-get install stress-ng)" >&2
  exit 1
fi

workers="${AURALINK_STRESS_WORKERS:-2}"
load="${AURALINK_STRESS_LOAD:-100}"
max_s="${AURALINK_STRESS_MAX_S:-7200}"
for pair in "AURALINK_STRESS_WORKERS=$workers" "AURALINK_STRESS_LOAD=$load" "AURALINK_STRESS_MAX_S=$max_s"; do
  value="${pair#*=}"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ]; then
    echo "stress.sh: ${pair%%=*} must be a whole number >= 1, got '$value'" >&2
    exit 2
  fi
done
if [ "$load" -gt 100 ]; then
  echo "stress.sh: AURALINK_STRESS_LOAD must be 1 to 100 (percent of a core), got '$load'" >&2
  exit 2
fi

loadavg () { cut -d' ' -f1-3 /proc/loadavg; }

stress_pid=''
watch_pid=''
stop_load () {
  if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; watch_pid=''; fi
  if [ -n "$stress_pid" ]; then
    # stress-ng's parent passes SIGTERM on to its workers and reaps them
    kill -TERM "$stress_pid" 2>/dev/null || true
    wait "$stress_pid" 2>/dev/null || true
    stress_pid=''
    echo "stress.sh: load stopped; load average $(loadavg)" >&2
  fi
}
cmd_pid=''
trap stop_load EXIT
# a signal to this script (Ctrl-C, kill, a timeout): passed on to the command's process group,
# then the load stops and the script exits as the signal would once the command has gone
on_signal () {
  if [ -n "$cmd_pid" ]; then kill "-$1" -- "-$cmd_pid" 2>/dev/null || true; wait "$cmd_pid" 2>/dev/null || true; fi
  stop_load
  trap - "$1"
  kill "-$1" $$
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# the command on one line, cut short: a `bash -c` script would fill the screen
cmdline="$(printf '%s ' "$@" | tr '\n' ' ' | tr -s ' ' | cut -c1-160)"
echo "stress.sh: load average $(loadavg); starting $workers CPU worker(s) at ${load}% (stop after ${max_s} s at most): $cmdline" >&2
# the command can tell that it runs under load, and how much (bench/dial-load.mjs records it)
export AURALINK_STRESS="cpu workers=$workers load=${load}%"
stress-ng --cpu "$workers" --cpu-load "$load" --timeout "${max_s}s" --quiet &
stress_pid=$!
# if this script is killed outright (SIGKILL: no trap runs), the load goes with it within a second
parent=$$
( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -TERM "$stress_pid" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
watch_pid=$!

# the command runs as a job of its own (set -m: its own process group, its signals as usual, not
# ignored as a plain background command's SIGINT would be), so that this script's traps run at
# once when a signal comes and can pass it on
set -m
"$@" <&0 &
cmd_pid=$!
set +m
status=0
wait "$cmd_pid" || status=$?
cmd_pid=''
echo "stress.sh: command exited with status $status; load average $(loadavg)" >&2
stop_load
exit "$status"
