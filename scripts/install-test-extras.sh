#!/usr/bin/env bash
# Install test-only extras into the project venv (idempotent; PyPI only).
#
# opentiva 1.1.2 (MIT) is a test-only cross-check for the PK engine
# (tests/pk/test_pk_opentiva.py; reference/pk.md §4.1). Its sdist ships a Cython-generated
# opentiva/pkpd.c that does not compile on CPython >= 3.11 ("longintrepr.h: No such file"), and
# no wheel is published, so we delete the stale C file and rebuild from pkpd.pyx with Cython,
# without build isolation. Needs a C compiler and the Python headers.
#
# Exit status: 0 when opentiva is importable afterwards. When the build fails, exit 1 if $CI is
# set (CI must not silently skip the comparison), otherwise warn and exit 0 (the test then skips
# with a reason).
set -euo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
PIP=.venv/bin/pip
VERSION=1.1.2

if "$PY" -c "import opentiva.ketamine, opentiva.pkpd" 2>/dev/null; then
    echo "opentiva already installed"
    exit 0
fi

fail() {
    echo "install-test-extras: could not install opentiva: $1" >&2
    if [[ -n "${CI:-}" ]]; then
        exit 1
    fi
    echo "install-test-extras: continuing; tests/pk/test_pk_opentiva.py will be skipped" >&2
    exit 0
}

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

# setuptools>=68 and wheel provide bdist_wheel; Cython regenerates pkpd.c. No bytecode
# (--no-compile), as for the dev extra (Makefile).
"$PIP" install --quiet --no-compile --upgrade "setuptools>=77" wheel "cython>=3,<4" || fail "pip could not install the build tools"
"$PIP" download --quiet --no-deps --no-binary :all: --dest "$workdir" "opentiva==$VERSION" \
    || fail "pip could not download the opentiva $VERSION sdist from PyPI"
tar -xzf "$workdir/opentiva-$VERSION.tar.gz" -C "$workdir" || fail "could not unpack the sdist"
rm -f "$workdir/opentiva-$VERSION/opentiva/pkpd.c"   # stale generated C source
# -O0 -g0 (after Python's own -O3 -g, so they win): the build takes 5 s instead of 14 s, and
# the three comparisons take the same 0.01-0.02 s each (benchmarks/README.md, "Suite, eleventh
# session"). An optimisation level changes a result by a last bit at most (contracted
# multiply-adds), far inside the comparison's tolerances.
CFLAGS="${CFLAGS:-} -O0 -g0" "$PIP" install --quiet --no-compile --no-build-isolation "$workdir/opentiva-$VERSION" \
    || fail "building opentiva failed (a C compiler and the Python headers are required)"
"$PY" -c "import opentiva.ketamine, opentiva.pkpd" || fail "opentiva does not import after install"
echo "opentiva $VERSION installed"
