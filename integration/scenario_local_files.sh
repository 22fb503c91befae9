#!/usr/bin/env bash
#  Local files: a hutongd.lock symlink planted in the store cannot make
#  the daemon truncate its target; init, hutongd --check and hutongd
#  refuse a store, config file or key directory that group or others may
#  write; keygen --force never writes through a symlink; and numeric
#  options are parsed strictly (cert revoke --at yesterday writes nothing).
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
: "${HUTONGD:?set HUTONGD to the hutongd binary}"
show_logs_on_failure
city=441800000000 county=441802000000
#  A daemon that wrongly starts must not hang the scenario
daemon_deadline=20

#  expect_message TEXT WHAT: the last command's stderr holds TEXT
expect_message () {
    grep -qF -- "$1" "$work/last.err" || { cat "$work/last.err" >&2; fail "$2: no '$1' in stderr"; }
    ok "$2"
}

#  write_config FILE STORE KEY
write_config () {
    printf 'node\n    region = %s\n    key = %s\n    anchor = %s\n    store = %s\n    client = %s\n' \
        "$city" "$3" "$work/root.key.pub" "$2" "tcp://127.0.0.1:*" > "$1"
}

make_key root; make_key county
"$HUTONG" keygen --idkey --out net.idkey >/dev/null
make_cert root root $city
make_cert root county $county
"$HUTONG" init --store city.store --region $city --anchor root.key.pub --idkey net.idkey >/dev/null
"$HUTONG" put --store city.store --quiet root.cert county.cert
write_config city.cfg "$work/city.store" "$work/root.key"
expect_exit 0 "--check accepts a 0700 store, a 0644 config and a 0700 key directory" -- \
    timeout $daemon_deadline "$HUTONGD" --config city.cfg --check

#  --------------------------------------------------------------------------
#  The lock file

echo "precious" > precious.txt
ln -s "$work/precious.txt" city.store/hutongd.lock
expect_exit 1 "hutongd refuses a hutongd.lock that is a symlink" -- \
    timeout $daemon_deadline "$HUTONGD" --config city.cfg
expect_message "hutongd.lock is a symbolic link" "the refusal names the symlinked lock file"
expect_eq "$(cat precious.txt)" "precious" "the lock symlink's target is untouched"
rm city.store/hutongd.lock

ln precious.txt city.store/hutongd.lock
expect_exit 1 "hutongd refuses a hutongd.lock with another hard link" -- \
    timeout $daemon_deadline "$HUTONGD" --config city.cfg
expect_eq "$(cat precious.txt)" "precious" "the hard-linked file is untouched"
rm city.store/hutongd.lock

start_bg city city.log "$HUTONGD" --config city.cfg
wait_until 20 grep -q " started; node " city.log || fail "hutongd did not start on a safe store"
last_pid="${bg_pids[city]}"
expect_eq "$(cat city.store/hutongd.lock)" "$last_pid" "the running daemon's lock file holds its pid"
stop_bg city || fail "hutongd did not stop cleanly"
ok "hutongd starts and stops on a safe store"

#  --------------------------------------------------------------------------
#  Directories and files others may write

chmod 0770 city.store
expect_exit 1 "--check refuses a group-writable store directory" -- \
    timeout $daemon_deadline "$HUTONGD" --config city.cfg --check
expect_message "$work/city.store is writable by group or others (mode 0770); run: chmod go-w $work/city.store" \
    "the refusal names the store and the fix"
expect_exit 1 "hutongd refuses to start on a group-writable store directory" -- \
    timeout $daemon_deadline "$HUTONGD" --config city.cfg
expect_eq "$(cat city.store/hutongd.lock)" "$last_pid" "hutongd never touched the lock of a store it refused"
chmod 0700 city.store

chmod o+w city.cfg
expect_exit 1 "--check refuses a config file others may write" -- \
    timeout $daemon_deadline "$HUTONGD" --config city.cfg --check
expect_message "chmod go-w city.cfg" "the refusal names the config file and the fix"
expect_exit 1 "hutongd refuses to start with a config file others may write" -- \
    timeout $daemon_deadline "$HUTONGD" --config city.cfg
chmod go-w city.cfg

mkdir -m 0700 keys
cp -p root.key keys/root.key
write_config keys.cfg "$work/city.store" "$work/keys/root.key"
expect_exit 0 "--check accepts a key in a 0700 directory" -- \
    timeout $daemon_deadline "$HUTONGD" --config keys.cfg --check
chmod 0770 keys
expect_exit 1 "--check refuses a key directory group may write" -- \
    timeout $daemon_deadline "$HUTONGD" --config keys.cfg --check
expect_message "directory $work/keys (holding $work/keys/root.key) is writable" \
    "the refusal names the key directory"
expect_exit 1 "hutongd refuses to start with a key directory group may write" -- \
    timeout $daemon_deadline "$HUTONGD" --config keys.cfg
chmod 0700 keys

ln -s "$work/city.store" linked.store
write_config linked.cfg "$work/linked.store" "$work/root.key"
expect_exit 1 "--check refuses a store path that is a symlink" -- \
    timeout $daemon_deadline "$HUTONGD" --config linked.cfg --check
expect_message "linked.store is a symbolic link" "the refusal names the symlinked store"

mkdir -m 0775 shared.store
expect_exit 2 "init refuses a group-writable store directory" -- \
    "$HUTONG" init --store shared.store --region $city --anchor root.key.pub --idkey net.idkey
expect_message "shared.store is writable by group or others (mode 0775); run: chmod go-w shared.store" \
    "init names the store and the fix"
[ -z "$(ls -A shared.store)" ] || fail "init wrote into the group-writable store directory"
chmod go-w shared.store
expect_exit 0 "init accepts the directory once it is private" -- \
    "$HUTONG" init --store shared.store --region $city --anchor root.key.pub --idkey net.idkey

mkdir -m 0777 open
cp -p net.idkey open/net.idkey
expect_exit 2 "init refuses a pseudonym key in a world-writable directory" -- \
    "$HUTONG" init --store other.store --region $city --anchor root.key.pub --idkey open/net.idkey
expect_message "chmod go-w open" "init names the key directory and the fix"
[ ! -e other.store ] || fail "init created a store despite the unsafe key directory"

#  --------------------------------------------------------------------------
#  keygen --force and symlinks

echo "victim" > victim.txt
ln -s "$work/victim.txt" planted.key
expect_exit 3 "keygen --force refuses to write a key through a symlink" -- \
    "$HUTONG" keygen --out planted.key --force
expect_message "planted.key is a symbolic link" "keygen names the symlink"
expect_eq "$(cat victim.txt)" "victim" "the key symlink's target is untouched"
[ ! -e planted.key.pub ] || fail "keygen wrote planted.key.pub"

make_key spare
cp -p spare.key spare.key.before
rm spare.key.pub
ln -s "$work/victim.txt" spare.key.pub
expect_exit 3 "keygen --force refuses when FILE.pub is a symlink" -- \
    "$HUTONG" keygen --out spare.key --force
cmp -s spare.key spare.key.before || fail "keygen rewrote spare.key although spare.key.pub was refused"
expect_eq "$(cat victim.txt)" "victim" "the .pub symlink's target is untouched"
ok "keygen wrote nothing at all"

ln -s "$work/victim.txt" planted.idkey
expect_exit 3 "keygen --idkey --force refuses to write through a symlink" -- \
    "$HUTONG" keygen --idkey --out planted.idkey --force
expect_eq "$(cat victim.txt)" "victim" "the idkey symlink's target is untouched"

make_key spare2
expect_exit 0 "keygen --force still rewrites a plain key file" -- \
    "$HUTONG" keygen --out spare2.key --force

#  --------------------------------------------------------------------------
#  Strict numeric options

revocations () { "$HUTONG" list --store city.store --kind revocation | wc -l; }
expect_exit 2 "cert revoke --at yesterday is a usage error" -- \
    "$HUTONG" cert revoke --issuer root.key --subject county.key.pub --region $county \
        --at yesterday --out bad-revocation.json --store city.store
expect_message "hutong: --at: 'yesterday' is not a time (expected milliseconds since 1970 or an ISO date like 2026-12-01 or 2026-12-01T08:30:00Z)" \
    "the refusal says what a time looks like"
[ ! -e bad-revocation.json ] || fail "cert revoke wrote a revocation for --at yesterday"
[ ! -s "$work/last.out" ] || fail "cert revoke printed a revocation for --at yesterday"
expect_eq "$(revocations)" "0" "the store holds no revocation"

expect_exit 0 "cert revoke --at 2026-12-01 works" -- \
    "$HUTONG" cert revoke --issuer root.key --subject county.key.pub --region $county \
        --at 2026-12-01 --out revocation.json --store city.store
expect_eq "$(json_get revocation.json "j['fields']['revoked_at']")" "1796083200000" \
    "2026-12-01 is UTC midnight in ms"
expect_eq "$(revocations)" "1" "the store holds the revocation"

expect_exit 2 "cert issue --not-before with a trailing character is refused" -- \
    "$HUTONG" cert issue --issuer root.key --subject county.key.pub --region $county \
        --not-before 2026-12-01x
expect_exit 0 "cert issue takes ISO times with an offset" -- \
    "$HUTONG" cert issue --issuer root.key --subject county.key.pub --region $county \
        --not-before 2026-01-01T08:00:00+08:00 --not-after 2027-01-01 --out county2.cert
expect_eq "$(json_get county2.cert "j['fields']['not_before'], j['fields']['not_after']")" \
    "1767225600000 1798761600000" "the validity window is in UTC ms"
expect_exit 2 "list --limit 10x is refused" -- "$HUTONG" list --store city.store --kind cert --limit 10x
expect_exit 2 "gen --elders -5 is refused" -- "$HUTONG" gen --elders -5
expect_exit 2 "put --batch 0 is out of range" -- "$HUTONG" put --store city.store --batch 0 root.cert
expect_exit 2 "status --timeout soon is refused" -- \
    "$HUTONG" status --node tcp://127.0.0.1:1 --node-key root.key.pub --key root.key --timeout soon
expect_message "hutong: --timeout: 'soon' is not a whole number" "the refusal names the option"
scenario_done=1
