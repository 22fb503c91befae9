#!/bin/sh
#  schema_doc: docs/records.md section 10 holds exactly what
#  `hutong schema --markdown` prints, between its two marker comments.
#  Usage: schema_doc.sh HUTONG RECORDS_MD. Prints the difference and
#  fails if the two differ in any byte.
set -eu
hutong="$1"
doc="$2"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
begin='<!-- schema:begin -->'
end='<!-- schema:end -->'
[ "$(grep -c -x -F "$begin" "$doc")" = 1 ] || { echo "schema_doc: $doc needs one line '$begin'"; exit 1; }
[ "$(grep -c -x -F "$end" "$doc")" = 1 ] || { echo "schema_doc: $doc needs one line '$end'"; exit 1; }
#  The lines strictly between the markers, less the blank line after the
#  first and before the second (Markdown needs them)
awk -v begin="$begin" -v end="$end" '
    $0 == end { inside = 0 }
    inside { print }
    $0 == begin { inside = 1 }' "$doc" | sed '1{/^$/d;}' | sed '${/^$/d;}' > "$scratch/doc.md"
"$hutong" schema --markdown > "$scratch/schema.md"
if ! diff -u "$scratch/doc.md" "$scratch/schema.md"; then
    echo "schema_doc: docs/records.md section 10 differs from 'hutong schema --markdown'"
    echo "schema_doc: paste the command's output between the markers (or fix the registry)"
    exit 1
fi
echo "schema_doc: docs/records.md section 10 is the registry's output"
