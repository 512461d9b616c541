#!/bin/sh
# gate.sh — a generic CI step: ask burnrate's error-budget policy whether a
# service may deploy now, and stop the pipeline when it may not.
#
# Put it right before the deploy step of any CI system (GitLab, Jenkins,
# Buildkite, a Makefile...). It uses `burnrate gate` when the binary is on
# PATH and plain curl otherwise (same endpoint, same decision).
#
# Environment:
#   BURNRATE_URL     burnrate's base URL, e.g. http://burnrate:9099   (required)
#   SERVICE          the service to check                             (SERVICE or SLO)
#   SLO              one SLO id instead, e.g. checkout-availability
#   MIN_REMAINING    deny below this budget remaining (default 25%)
#   MAX_BURN_RATE    deny when the 1h burn rate is above this (default: not checked)
#   ALLOW_STATES     policy states that may deploy, e.g. healthy,caution
#                    (default: what the policy says)
#   ON_NO_DATA       deny (default) or allow: an SLO without traffic
#   TIMEOUT          whole request (default 10s)
#   TOKEN_FILE       file holding burnrate's read token, when auth is on
#   ON_UNDECIDED     fail (default) or pass: what to do when burnrate cannot
#                    decide (unreachable, no or stale data). "pass" keeps a
#                    burnrate outage from blocking every release; it prints
#                    a warning instead.
#
# Exit codes: 0 deploy, 1 denied by the policy (reasons printed),
#             2 cannot decide (unless ON_UNDECIDED=pass).
set -eu

: "${BURNRATE_URL:?set BURNRATE_URL to the base URL of burnrate, e.g. http://burnrate:9099}"
SERVICE="${SERVICE:-}"
SLO="${SLO:-}"
MIN_REMAINING="${MIN_REMAINING:-25%}"
MAX_BURN_RATE="${MAX_BURN_RATE:-}"
ALLOW_STATES="${ALLOW_STATES:-}"
ON_NO_DATA="${ON_NO_DATA:-deny}"
TIMEOUT="${TIMEOUT:-10s}"
TOKEN_FILE="${TOKEN_FILE:-}"
ON_UNDECIDED="${ON_UNDECIDED:-fail}"

if [ -n "$SERVICE" ] && [ -n "$SLO" ]; then
    echo "gate.sh: set SERVICE or SLO, not both" >&2
    exit 2
fi
if [ -z "$SERVICE" ] && [ -z "$SLO" ]; then
    echo "gate.sh: set SERVICE (or SLO) to what is being deployed" >&2
    exit 2
fi

# "10s", "1m", "500ms" or "10" as seconds, for curl --max-time.
seconds() {
    awk -v t="$1" 'BEGIN {
        if (t ~ /ms$/) { sub(/ms$/, "", t); print t / 1000 }
        else if (t ~ /s$/) { sub(/s$/, "", t); print t + 0 }
        else if (t ~ /m$/) { sub(/m$/, "", t); print t * 60 }
        else { print t + 0 } }'
}

rc=0
if command -v burnrate >/dev/null 2>&1; then
    set -- --url "$BURNRATE_URL" --min-remaining "$MIN_REMAINING" \
        --on-no-data "$ON_NO_DATA" --timeout "$TIMEOUT"
    if [ -n "$SERVICE" ]; then set -- "$@" --service "$SERVICE"; fi
    if [ -n "$SLO" ]; then set -- "$@" --slo "$SLO"; fi
    if [ -n "$MAX_BURN_RATE" ]; then set -- "$@" --max-burn-rate "$MAX_BURN_RATE"; fi
    if [ -n "$ALLOW_STATES" ]; then set -- "$@" --allow-states "$ALLOW_STATES"; fi
    if [ -n "$TOKEN_FILE" ]; then set -- "$@" --token-file "$TOKEN_FILE"; fi
    burnrate gate "$@" || rc=$?
else
    # Without the binary: 200 = allow, 409 = deny (or no_data), else cannot decide.
    body=$(mktemp)
    trap 'rm -f "$body"' EXIT
    set -- --silent --show-error --get --output "$body" --write-out '%{http_code}' \
        --max-time "$(seconds "$TIMEOUT")" \
        --data-urlencode "min_remaining=$MIN_REMAINING" \
        --data-urlencode "on_no_data=$ON_NO_DATA"
    if [ -n "$SERVICE" ]; then set -- "$@" --data-urlencode "service=$SERVICE"; fi
    if [ -n "$SLO" ]; then set -- "$@" --data-urlencode "slo=$SLO"; fi
    if [ -n "$MAX_BURN_RATE" ]; then set -- "$@" --data-urlencode "max_burn_rate=$MAX_BURN_RATE"; fi
    if [ -n "$ALLOW_STATES" ]; then set -- "$@" --data-urlencode "allow_states=$ALLOW_STATES"; fi
    if [ -n "$TOKEN_FILE" ]; then
        set -- "$@" --header "Authorization: Bearer $(tr -d '\r\n' <"$TOKEN_FILE")"
    fi
    status=$(curl "$@" "${BURNRATE_URL%/}/api/v1/gate") || status=000
    case "$status" in
    200) rc=0 ;;
    409) if grep -q '"decision":"no_data"' "$body"; then rc=2; else rc=1; fi ;;
    *) rc=2 ;;
    esac
    if [ "$status" = 000 ]; then
        echo "cannot reach $BURNRATE_URL within $TIMEOUT"
    elif command -v jq >/dev/null 2>&1 && jq -e . "$body" >/dev/null 2>&1; then
        jq -r --arg status "$status" '"decision: \(.decision // "error") (HTTP \($status))",
               (.reasons // [] | .[] | "  - \(.)")' "$body"
    else
        echo "HTTP $status: $(head -c 2000 "$body")"
    fi
fi

case "$rc" in
0)
    echo "gate.sh: the error-budget policy allows this deploy"
    ;;
1)
    echo "gate.sh: deploy blocked by the error-budget policy (see the reasons above)"
    exit 1
    ;;
*)
    if [ "$ON_UNDECIDED" = pass ]; then
        echo "gate.sh: WARNING: burnrate could not decide; deploying anyway (ON_UNDECIDED=pass)"
        exit 0
    fi
    echo "gate.sh: burnrate could not decide; not deploying (set ON_UNDECIDED=pass to change that)"
    exit 2
    ;;
esac
