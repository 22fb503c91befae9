#!/usr/bin/env bash
#  Write the fuzz targets' seed corpora into tests/fuzz/corpus/, from real
#  inputs: drafts `hutong gen` prints, signed by make_corpus with the PKI
#  of tests/fuzz/ht_fuzz.h, and the example configurations of conf/ with
#  their key files renamed to the ones fuzz_config provides. The output
#  is the same on every run; commit what changes.
#  Usage: tests/fuzz/make_corpus.sh BUILD_DIR (a -DHT_FUZZ=ON build)
set -euo pipefail
build="${1:?usage: $0 BUILD_DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
corpus="$here/corpus"
hutong="$build/tools/hutong"
export ASAN_OPTIONS=detect_leaks=0

for target in record record_json store cert msg config; do
    rm -rf "${corpus:?}/$target"
done
mkdir -p "$corpus"
{
    "$hutong" gen --seed 7 --region 441802001001 --elders 6
    "$hutong" gen --seed 7 --region 441802001002 --elders 2
    "$hutong" gen --seed 7 --region 441802001 --facilities 3 --credit 3 | tail -n 5
} | "$build/tests/fuzz/make_corpus" "$corpus"

#  fuzz_config: conf/*.cfg naming node.key, root.pub and policy.cfg
mkdir -p "$corpus/config"
for cfg in "$source_dir"/conf/*.cfg; do
    name="$(basename "$cfg" .cfg)"
    [ "$name" = policy ] && continue
    sed -e 's|^\(    key = \).*node\.key$|\1node.key|' \
        -e 's|^\(    anchor = \).*|\1root.pub|' \
        -e 's|^\(    key = \).*parent\.pub$|\1root.pub|' \
        -e 's|^\(    store = \).*|\1store|' \
        -e 's|^\(    file = \).*\.log$|\1hutongd.log|' "$cfg" > "$corpus/config/$name"
done
printf 'node\n    region = 441802001001\n    key = node.key\n    anchor = root.pub\n    store = store\npolicy\n    file = policy.cfg\nmetrics\n    listen = 127.0.0.1:9100\n' \
    > "$corpus/config/minimal-policy-metrics"
echo "make_corpus: $(find "$corpus" -type f | wc -l) files in $corpus"
