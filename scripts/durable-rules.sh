#!/usr/bin/env bash
# durable-rules 2.0.28 (its last release) for a Python that cannot build the sdist as published.
# Python 3.13 removed PyEval_CallObject, which its C extension calls 5 times; the patch in
# patches/ replaces them with PyObject_CallObject (same semantics). On Python < 3.13 this does
# nothing and pip builds the sdist as usual.
#
#   scripts/durable-rules.sh VENV_PYTHON    builds the patched wheel and installs it into that venv
set -euo pipefail
python="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
version=2.0.28
sdist="durable_rules-$version.tar.gz"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' || exit 0
if "$python" -c 'import durable.lang' 2>/dev/null; then exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "durable-rules.sh: building durable-rules $version with patches/durable-rules-$version-py313.patch" >&2
"$python" -m pip download --quiet --no-binary :all: --no-deps "durable-rules==$version" -d "$work"
# The checksum recorded in the repository, not PyPI's word for it: the patch is for this sdist.
if ! (cd "$work" && sha256sum --check --quiet "$root/patches/$sdist.sha256"); then
    echo "durable-rules.sh: $sdist from PyPI is not the file patches/$sdist.sha256 names; not building it" >&2
    exit 1
fi
tar -xzf "$work/$sdist" -C "$work"
patch --quiet --forward -p1 -d "$work/durable_rules-$version" < "$root/patches/durable-rules-$version-py313.patch"
# Its setup.py draws setuptools deprecation warnings that are not ours to fix: shown on failure only.
if ! log="$("$python" -m pip wheel --quiet --no-deps -w "$work/wheel" "$work/durable_rules-$version" 2>&1)"; then
    echo "$log" >&2
    exit 1
fi
"$python" -m pip install --quiet "$work"/wheel/durable_rules-*.whl
