#!/bin/sh
# unit.sh TEST... - runs each Check suite binary and prints one closing line with the totals.
pass=0 fail=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	printf '%-28s %s\n' "$(basename "$t")" "$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks' || echo 'no result')"
	n=$(printf '%s\n' "$out" | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' | tail -n 1)
	set -- $n
	if [ $rc -ne 0 ] || [ -z "$n" ]; then
		printf '%s\n' "$out" | grep -E ':[EF]:' >&2
		fail=$((fail + ${2:-1} + ${3:-0})); pass=$((pass + ${1:-0} - ${2:-1} - ${3:-0}))
	else
		pass=$((pass + $1))
	fi
done
echo "unit: $pass passed, $fail failed"
[ $fail -eq 0 ]
