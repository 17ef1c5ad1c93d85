# shellcheck shell=bash
# Build helpers sourced by tests/run, scripts/demo and bench/startup/run.

# The repository root, whichever script sourced this file.
BRIG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# brig_build DIR [MESON_SETUP_ARGS...]: configures DIR when it has never
# been configured, then builds it.
brig_build()
{
	local dir=$1
	shift

	if [[ ! -f $dir/build.ninja ]]; then
		meson setup "$dir" "$@"
	fi
	ninja -C "$dir"
}

# brig_has_option NAME: whether meson_options.txt declares option NAME.
brig_has_option()
{
	grep -qs "option('$1'" "$BRIG_ROOT/meson_options.txt"
}

# brig_build_test DIR [MESON_SETUP_ARGS...]: a build with the test-only
# switches compiled in, when the tree has that option. A build dir
# configured before the option existed is switched over.
brig_build_test()
{
	local dir=$1
	local args=()

	shift

	if brig_has_option test_switches; then
		args=(-Dtest_switches=true)
	fi
	if [[ -f $dir/build.ninja ]] && [[ ${#args[@]} -gt 0 ]] &&
		! meson introspect --buildoptions "$dir" | python3 -c '
import json, sys
opts = {o["name"]: o["value"] for o in json.load(sys.stdin)}
sys.exit(0 if opts.get("test_switches") is True else 1)'; then
		meson configure "$dir" "${args[@]}"
	fi
	brig_build "$dir" "${args[@]}" "$@"
}
