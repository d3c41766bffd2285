#!/usr/bin/env bash
# Test double for `warpdrive-ctl warm` (used when the real one is not built): appends its arguments, one call
# a line, to $WARM_RECORD_FILE; then sleeps $WARM_TEST_DOUBLE_SLEEP seconds (default 0) and exits with
# $WARM_TEST_DOUBLE_EXIT (default 0).
printf '%s\n' "$*" >> "${WARM_RECORD_FILE:?}"
sleep "${WARM_TEST_DOUBLE_SLEEP:-0}"
exit "${WARM_TEST_DOUBLE_EXIT:-0}"
