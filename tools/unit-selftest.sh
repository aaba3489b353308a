#!/bin/sh
# unit-selftest.sh BIN [EXPECT] - tools/unit.sh must count BIN as failed and show the end of its
# output, which must hold EXPECT (default: the message of a build without LeakSanitizer; under the
# sanitizers "LeakSanitizer"). BIN is tests/unit/unit_selftest.c: one check that passes and leaks,
# then an exit 1 after the clean summary. `make unit`, `make test` and `make asan` run this first.
dir=$(dirname "$0")
out=$(sh "$dir/unit.sh" "$1" 2>&1); rc=$?
expect=${2:-exiting 1 after a clean summary}
if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q 'unit: 0 passed, 1 failed' &&
		printf '%s\n' "$out" | grep -q "$expect"; then
	echo "unit.sh self-test: a suite exiting non-zero after a clean summary fails (ok)"
	exit 0
fi
echo "unit.sh self-test FAILED: unit.sh (exit $rc) did not fail $1, or hid its output:" >&2
printf '%s\n' "$out" | sed 's/^/    /' >&2
exit 1
