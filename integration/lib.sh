#  Shared helpers for integration scenarios: a scratch directory removed on
#  exit, assertions that say what they expected, and a small PKI.
set -euo pipefail
: "${HUTONG:?set HUTONG to the hutong binary}"
work="$(mktemp -d /tmp/hutong-it.XXXXXX)"
cleanup_hooks=()
cleanup () {
    local hook
    for hook in "${cleanup_hooks[@]+"${cleanup_hooks[@]}"}"; do eval "$hook" || true; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail () { echo "FAIL: $*" >&2; exit 1; }
ok () { echo "ok - $*"; }

#  expect_eq ACTUAL EXPECTED WHAT
expect_eq () { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; ok "$3"; }

#  expect_exit CODE WHAT -- COMMAND...: run COMMAND, check its exit code
expect_exit () {
    local want="$1" what="$2"; shift 3
    local got=0
    "$@" >"$work/last.out" 2>"$work/last.err" || got=$?
    [ "$got" = "$want" ] || { cat "$work/last.err" >&2; fail "$what: exit $got, expected $want"; }
    ok "$what (exit $want)"
}

#  json_get FILE PYTHON-EXPR: evaluate an expression over the JSON in FILE (as j)
json_get () { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

#  make_key NAME: key pair NAME.key / NAME.key.pub
make_key () { "$HUTONG" keygen --out "$1.key" --name "$1" >/dev/null; }

#  make_cert ISSUER SUBJECT REGION [extra cert-issue options]: SUBJECT.cert
make_cert () {
    local issuer="$1" subject="$2" region="$3"; shift 3
    "$HUTONG" cert issue --issuer "$issuer.key" --subject "$subject.key.pub" \
        --region "$region" --name "$subject" --out "$subject.cert" "$@" >/dev/null
}
