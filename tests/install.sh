#!/bin/sh
#  cmake --install into a scratch prefix: the programs run, the manual
#  pages are there and render without a warning, the systemd unit names
#  this build's paths and passes systemd-analyze verify, and sysusers.d,
#  tmpfiles.d and the example configurations are in place.
#  Usage: install.sh BUILD_DIR SBINDIR CONFIG_DIR (the unit's configured paths)
set -eu
build="$1" sbindir="$2" confdir="$3"
tmp="$(mktemp -d /tmp/hutong-install.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fail () { echo "FAIL: $*" >&2; exit 1; }
ok () { echo "ok - $*"; }

cmake --install "$build" --prefix "$tmp" > "$tmp/install.log" || fail "cmake --install failed"
"$tmp/bin/hutong" --version | grep -q "^hutong " || fail "bin/hutong does not run"
"$tmp/sbin/hutongd" --version | grep -q "^hutongd " || fail "sbin/hutongd does not run"
ok "bin/hutong and sbin/hutongd are installed and run"

#  Manual pages: present, with what the programs' tables hold
man="$tmp/share/man"
for page in man1/hutong.1 man8/hutongd.8 man5/hutongd.cfg.5; do
    [ -s "$man/$page" ] || fail "$page is not installed"
    head -n 2 "$man/$page" | grep -q '^\.TH ' || fail "$page has no .TH header"
done
grep -q '^\.SS "hutong put' "$man/man1/hutong.1" || fail "hutong.1 lacks the put command"
grep -q 'no\\-verify\|\\-\\-quiet' "$man/man1/hutong.1" || fail "hutong.1 lacks put's options"
grep -q '\\-\\-online' "$man/man8/hutongd.8" || fail "hutongd.8 lacks --online"
#  Every configuration key --help lists is in hutongd.cfg(5)
keys="$("$tmp/sbin/hutongd" --help | sed -n 's/^  \([a-z_]*\/[a-z_/]*\) .*/\1/p')"
[ -n "$keys" ] || fail "no keys in hutongd --help"
count=0
for key in $keys; do
    grep -qF ".B $key" "$man/man5/hutongd.cfg.5" || fail "hutongd.cfg.5 lacks $key"
    count=$((count + 1))
done
ok "the pages hold every command, option and configuration key ($count keys)"
if command -v groff >/dev/null 2>&1; then
    for page in man1/hutong.1 man8/hutongd.8 man5/hutongd.cfg.5; do
        warnings="$(LC_ALL=C.UTF-8 groff -k -man -Tutf8 -ww -z "$man/$page" 2>&1)"
        [ -z "$warnings" ] || fail "$page: groff warns: $warnings"
    done
    ok "groff renders the three pages without a warning"
else
    echo "# skip: groff is not installed; pages checked for structure only"
fi
if command -v man >/dev/null 2>&1; then
    LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$man/man5/hutongd.cfg.5" 2>/dev/null | grep -q "log/file" \
        || fail "man -l hutongd.cfg.5 does not show log/file"
    ok "man -l shows hutongd.cfg(5)"
fi

#  The unit, written for this build's paths
unit="$tmp/lib/systemd/system/hutongd.service"
[ -s "$unit" ] || fail "hutongd.service is not installed"
grep -qx "ExecStart=$sbindir/hutongd --config $confdir/hutongd.cfg" "$unit" \
    || fail "ExecStart does not name $sbindir/hutongd and $confdir: $(grep ExecStart= "$unit")"
grep -q '@[A-Z_]*@' "$unit" && fail "hutongd.service has an unreplaced @VARIABLE@"
for setting in User=hutong StateDirectory=hutong ProtectSystem=strict NoNewPrivileges=yes \
               CapabilityBoundingSet= ; do
    grep -qx "$setting" "$unit" || fail "hutongd.service lacks $setting"
done
ok "hutongd.service names $sbindir/hutongd and $confdir/hutongd.cfg, hardened"
grep -q '^u hutong ' "$tmp/lib/sysusers.d/hutong.conf" || fail "sysusers.d/hutong.conf lacks the user"
grep -q "^d $confdir/keys 0700 hutong hutong" "$tmp/lib/tmpfiles.d/hutong.conf" \
    || fail "tmpfiles.d/hutong.conf lacks the key directory"
ok "sysusers.d and tmpfiles.d entries are installed"
for tier in city county township community; do
    [ -s "$tmp/share/doc/hutong/examples/$tier.cfg" ] || fail "example $tier.cfg is not installed"
done
ok "the example configurations are installed"

if command -v systemd-analyze >/dev/null 2>&1; then
    #  verify wants ExecStart to exist and Documentation= to open: check
    #  a copy that runs the installed binary (the path itself was checked
    #  above), with the installed pages on MANPATH
    mkdir "$tmp/verify"
    sed "s|^ExecStart=$sbindir/hutongd|ExecStart=$tmp/sbin/hutongd|" "$unit" > "$tmp/verify/hutongd.service"
    output="$(MANPATH="$man" systemd-analyze verify "$tmp/verify/hutongd.service" 2>&1)" \
        || fail "systemd-analyze verify: $output"
    [ -z "$output" ] || fail "systemd-analyze verify warns: $output"
    ok "systemd-analyze verify accepts hutongd.service"
else
    echo "# skip: systemd-analyze is not installed; the unit was not verified"
fi
