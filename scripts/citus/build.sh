#!/usr/bin/env bash
# Build and install Citus 13.0.5 from the vendored source against the machine's PostgreSQL,
# with the patches of scripts/citus/patches/ (see README "Running on Citus"):
#   forward-error-fields.patch        a worker's error reaches the client with its constraint,
#                                     table, schema, column and data type names (stock Citus
#                                     forwards SQLSTATE, message, DETAIL and HINT only);
#   raise-one-phase-commit-error.patch a worker's error at a one-phase COMMIT (a deferred
#                                     constraint) aborts the coordinator's transaction with that
#                                     error, not with XX000 "could not commit transaction for shard".
#   delegated-call-intermediate-results-local.patch
#                                     in a force-delegated function call, the intermediate results
#                                     of its statements are written on the worker only (stock Citus
#                                     sends an INSERT..SELECT's to every node and the others to the
#                                     worker itself over a connection, which makes the call's COMMIT
#                                     a two-phase commit over those connections).
#   remove-subplan-results-at-statement-end.patch
#                                     a node removes its files of a statement's intermediate results
#                                     (CTE subplans, an INSERT..SELECT's per-shard results) when the
#                                     statement ends, as PostgreSQL drops a CTE's tuplestore; stock
#                                     Citus removes them at COMMIT (89-158 MB for a 100,000-record call).
#   remove-empty-results-directory-when-delegated-call-returns.patch
#                                     when a force-delegated call returns, the worker removes the
#                                     transaction's results directory it created if it is empty (its
#                                     files went at each statement's end); stock Citus removes it at
#                                     COMMIT: 0.5 ms on ext4, about as much as the COMMIT's WAL flush.
#
# Idempotent: does nothing when citus.so of this version, with these patches, is already
# installed for the PostgreSQL major version (PG_MAJOR, default: the one of the
# running/installed pg_config).
# About 6-7 minutes on 2 busy cores (each file is compiled twice: object + LLVM bitcode).
#
#   scripts/citus/build.sh            # build + install if missing
#   CITUS_FORCE=1 scripts/citus/build.sh   # rebuild anyway
#
# Environment:
#   CITUS_TARBALL  source tarball (default: <repo>/../shared/vendor/citus/citus-13.0.5-src.tar.gz,
#                  else /work/shared/vendor/citus/citus-13.0.5-src.tar.gz)
#   CITUS_BUILD_DIR where to unpack and build (default /var/tmp/citus-build)
#   PG_MAJOR       PostgreSQL major version (default: from /usr/bin/pg_config)
#   CITUS_JOBS     make -j (default 2)
set -euo pipefail

CITUS_VERSION=13.0.5
CITUS_SHA256=e916b876ef565b08a45476c455a95a9df24700e9ed9e8a8a78fbc71bcef3fe45
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [[ -z "${CITUS_TARBALL:-}" ]]; then
    for c in "$repo/../shared/vendor/citus/citus-$CITUS_VERSION-src.tar.gz" \
             "/work/shared/vendor/citus/citus-$CITUS_VERSION-src.tar.gz"; do
        [[ -f "$c" ]] && { CITUS_TARBALL=$c; break; }
    done
fi
PG_MAJOR=${PG_MAJOR:-$(/usr/bin/pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
[[ -x "$PG_CONFIG" ]] || PG_CONFIG=/usr/bin/pg_config
BUILD_DIR=${CITUS_BUILD_DIR:-/var/tmp/citus-build}
JOBS=${CITUS_JOBS:-2}

pkglibdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
patches=("$here"/patches/*.patch)
patches_sum=$(cat "${patches[@]}" | sha256sum | cut -d' ' -f1)
marker="$sharedir/extension/citus.discovery-wiring-patches"

installed() {
    [[ -f "$pkglibdir/citus.so" && -f "$sharedir/extension/citus.control" ]] || return 1
    # the library carries its version string ("Citus 13.0.5 ...")
    grep -aq "Citus $CITUS_VERSION" "$pkglibdir/citus.so" || return 1
    # and was built with these patches
    [[ -f "$marker" && "$(cat "$marker")" == "$patches_sum" ]]
}

if [[ -z "${CITUS_FORCE:-}" ]] && installed; then
    echo "citus $CITUS_VERSION already installed for PostgreSQL $PG_MAJOR ($pkglibdir/citus.so)"
    exit 0
fi

[[ -n "${CITUS_TARBALL:-}" && -f "$CITUS_TARBALL" ]] || {
    echo "citus source tarball not found (set CITUS_TARBALL)" >&2; exit 1; }
echo "$CITUS_SHA256  $CITUS_TARBALL" | sha256sum -c --quiet - || {
    echo "checksum mismatch: $CITUS_TARBALL" >&2; exit 1; }

# Build dependencies (Debian); only what is missing is installed.
pkgs=("postgresql-server-dev-$PG_MAJOR" libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev patch)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing build dependencies: ${missing[*]}"
    sudo_=(); [[ $(id -u) -eq 0 ]] || sudo_=(sudo)
    "${sudo_[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null || {
        "${sudo_[@]}" apt-get update -qq && "${sudo_[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

start=$(date +%s)
mkdir -p "$BUILD_DIR"
src="$BUILD_DIR/citus-$CITUS_VERSION"
if [[ ! -f "$src/configure" ]]; then
    tar -xzf "$CITUS_TARBALL" -C "$BUILD_DIR"
fi
cd "$src"
for p in "${patches[@]}"; do
    if patch -p1 -R --dry-run -s -f < "$p" >/dev/null 2>&1; then
        echo "patch already applied: $(basename "$p")"
    else
        patch -p1 -s -N < "$p"
        echo "patch applied: $(basename "$p")"
    fi
done
if [[ ! -f Makefile.global ]]; then
    PG_CONFIG="$PG_CONFIG" ./configure --quiet PG_CONFIG="$PG_CONFIG"
fi
make -s -j"$JOBS"
make -s install
echo "$patches_sum" > "$marker"
installed || { echo "citus install did not produce $pkglibdir/citus.so" >&2; exit 1; }
echo "citus $CITUS_VERSION built and installed for PostgreSQL $PG_MAJOR in $(( $(date +%s) - start )) s"
