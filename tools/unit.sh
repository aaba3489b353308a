#!/bin/sh
# unit.sh TEST... - runs each Check suite binary and prints one closing line with the totals.
# A binary passes only if it exits 0 and its summary line reports no failure or error: a
# non-zero exit after a clean summary (LeakSanitizer reports after it under CK_FORK=no, and
# exits 1) counts as one failure, and the end of its output is shown (docs/testing.md).
pass=0 fail=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	printf '%-28s %s\n' "$(basename "$t")" "$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks' || echo 'no result')"
	n=$(printf '%s\n' "$out" | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' | tail -n 1)
	set -- ${n:-0 0 0}
	checks=$1 bad=$(($2 + $3))
	if [ $rc -eq 0 ] && [ -n "$n" ] && [ $bad -eq 0 ]; then
		pass=$((pass + checks))
		continue
	fi
	# the failed checks; or the binary itself, when it exited non-zero after a clean summary or
	# printed none, with the end of its output (a sanitizer's report, a crash)
	if [ $bad -gt 0 ]; then
		printf '%s\n' "$out" | grep -E ':[EF]:' >&2
	else
		bad=1
		printf '%s: exit status %d after %s; the end of its output:\n' "$(basename "$t")" $rc \
			"$([ -n "$n" ] && echo 'a clean summary' || echo 'no summary')" >&2
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/    /' >&2
	fi
	[ $bad -le $checks ] || checks=$bad
	fail=$((fail + bad)); pass=$((pass + checks - bad))
done
echo "unit: $pass passed, $fail failed"
[ $fail -eq 0 ]
