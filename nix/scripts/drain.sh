# Guest side of the drain protocol (docs/architecture.md, "The drain protocol").
# Waits for the instance metadata key, stops the runner gracefully within the
# deadline it holds, and reports progress as guest attributes.
# Environment (set by the systemd unit):
#   METADATA_URL      e.g. http://metadata.google.internal/computeMetadata/v1
#   DRAIN_KEY         instance metadata key (nix-glab-runner-drain)
#   NAMESPACE         guest attribute namespace (nix-glab-runner)
#   RUNNER_UNIT       gitlab-runner.service
#   MARKER            file that keeps a drained VM drained, even after a reboot
#   FALLBACK_SECONDS  drain time when the value is not an RFC 3339 deadline
#   UNREGISTER        1 to unregister the runner manager once stopped
#   RUNNER_CONFIG     gitlab-runner's config.toml
#   POLL_SECONDS      pause between checks of the runner, and between key polls when the
#                     attributes directory cannot be listed (optional, default 5)
header='Metadata-Flavor: Google'
poll=${POLL_SECONDS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now_rfc3339() {
  date -u +%Y-%m-%dT%H:%M:%SZ
}

put_attribute() {
  if ! curl --silent --show-error --fail --max-time 10 -X PUT -H "$header" \
    --data-binary "$2" "$METADATA_URL/instance/guest-attributes/$NAMESPACE/$1" >/dev/null; then
    echo "warning: could not write guest attribute $NAMESPACE/$1; set enable-guest-attributes=TRUE in the instance metadata." >&2
  fi
}

runner_stopped() {
  local state
  state=$(systemctl show -P ActiveState "$RUNNER_UNIT")
  [ "$state" = inactive ] || [ "$state" = failed ]
}

# GET a path under METADATA_URL into $work/body and $work/headers; prints the HTTP status (000 when
# the server is unreachable).
fetch() {
  local code
  code=$(curl --silent --max-time 330 -H "$header" -D "$work/headers" -o "$work/body" \
    -w '%{http_code}' "$METADATA_URL/$1" || true)
  printf '%s' "${code:-000}"
}

etag_of_last_fetch() {
  sed -n 's/^[Ee][Tt][Aa][Gg]: *\([^[:space:]]*\).*/\1/p' "$work/headers" | head -n 1
}

# Prints the key's value once it is set. A missing key answers 404 at once, even with
# wait_for_change, so the wait is on the attributes directory: it always exists, and its ETag
# changes when any attribute is added, changed or removed. The directory's ETag is read before the
# key, so a key set in between still ends the next wait at once. A metadata server that cannot list
# the directory gets the key polled every POLL_SECONDS instead.
wait_for_drain_key() {
  local directory='instance/attributes/?recursive=true' query='' pause code value backoff=5
  while true; do
    if [ "$(fetch "$directory$query")" = 200 ]; then
      query="&wait_for_change=true&timeout_sec=300&last_etag=$(etag_of_last_fetch)"
      pause=0
    else
      query=''
      pause=$poll
    fi
    code=$(fetch "instance/attributes/$DRAIN_KEY")
    case "$code" in
      200 | 404)
        backoff=5
        value=''
        if [ "$code" = 200 ]; then value=$(tr -d '[:space:]' <"$work/body"); fi
        if [ -n "$value" ]; then
          printf '%s' "$value"
          return 0
        fi
        sleep "$pause"
        ;;
      *)
        echo "metadata server answered $code; retrying in ${backoff}s" >&2
        sleep "$backoff"
        backoff=$((backoff < 60 ? backoff * 2 : 60))
        query=''
        ;;
    esac
  done
}

drain() {
  local deadline_text=$1 started=$2 deadline outcome=drained finished
  if ! deadline=$(date -u -d "$deadline_text" +%s 2>/dev/null); then
    deadline=$(($(date +%s) + FALLBACK_SECONDS))
    echo "warning: $DRAIN_KEY value '$deadline_text' is not an RFC 3339 time; draining within ${FALLBACK_SECONDS}s" >&2
  fi

  # From here on nothing starts the runner again (its unit has ConditionPathExists=!MARKER).
  mkdir -p "$(dirname "$MARKER")"
  printf '%s\n%s\n' "$deadline_text" "$started" >"$MARKER"

  put_attribute drain-state draining
  put_attribute drain-started "$started"
  put_attribute running-jobs "$(nix-glab-runner-running-jobs)"
  echo "draining: graceful stop of $RUNNER_UNIT, deadline $deadline_text"

  # KillSignal=SIGQUIT: the runner takes no new job and exits when running jobs end.
  systemctl stop --no-block "$RUNNER_UNIT"
  while ! runner_stopped; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      outcome=timeout
      echo "deadline passed with $(nix-glab-runner-running-jobs) job(s) running; stopping the runner forcefully" >&2
      systemctl kill --kill-whom=main --signal=SIGTERM "$RUNNER_UNIT" || true
      for _ in $(seq 1 30); do
        if runner_stopped; then break; fi
        sleep 1
      done
      if ! runner_stopped; then
        systemctl kill --signal=SIGKILL "$RUNNER_UNIT" || true
      fi
      break
    fi
    put_attribute running-jobs "$(nix-glab-runner-running-jobs)"
    sleep "$poll"
  done
  put_attribute running-jobs "$(nix-glab-runner-running-jobs)"

  # A deadline later than stopTimeout (the unit's TimeoutStopSec): systemd kills the runner and its
  # jobs at stopTimeout, and the unit stops all the same. That is not a drained runner.
  if [ "$outcome" = drained ] && [ "$(systemctl show -P Result "$RUNNER_UNIT")" = timeout ]; then
    outcome=timeout
    echo "the runner did not stop by itself (systemd result: timeout): jobs still running at stopTimeout were killed" >&2
  fi

  if [ "$UNREGISTER" = 1 ]; then
    nix-glab-runner-unregister "$RUNNER_CONFIG" now || true
  fi

  # The outcome goes in the marker, so a reboot reports it again instead of draining anew.
  finished=$(now_rfc3339)
  printf '%s\n%s\n' "$outcome" "$finished" >>"$MARKER"
  # drain-finished first, so a reader that sees the final state also sees the time.
  put_attribute drain-finished "$finished"
  put_attribute drain-state "$outcome"
  echo "drain finished: $outcome"
}

# A drain survives a reboot. The marker holds the deadline and the start time, then, once the drain
# has finished, its outcome and end time.
if [ -s "$MARKER" ]; then
  mapfile -t saved <"$MARKER"
  if [ -n "${saved[2]:-}" ]; then
    put_attribute drain-finished "${saved[3]:-$(now_rfc3339)}"
    put_attribute drain-state "${saved[2]}"
    echo "drain finished before this boot: ${saved[2]}"
    exit 0
  fi
  drain "${saved[0]:-}" "${saved[1]:-$(now_rfc3339)}"
  exit 0
fi

deadline_text=$(wait_for_drain_key)
drain "$deadline_text" "$(now_rfc3339)"
