# Sourced by the MPI test scripts: the component from this build tree, a
# scratch directory $out, and TAP lines counted in $n ("ok STATUS WHAT").
build=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
export OMPI_MCA_mca_base_component_path=$build/btl_idts/.libs:SYS_DEFAULT
export IDTS_HELP_DIR=${top_srcdir:-$build}/btl_idts
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export ASAN_OPTIONS=detect_leaks=0 # Open MPI's own allocations outlive MPI_Finalize
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=0
failed=0

ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
