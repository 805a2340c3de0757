#!/usr/bin/env bash
# Old vs new `moska query` on one trace file (issue 12: the percentile views' cost at 100k+ requests).
# Each build gets its own copy of DB (a newer build migrates the file, which an older one then refuses),
# opened once untimed (migrations), then each query is timed REPEAT times per build, interleaved, with
# GNU time (CPU = user + sys), and the two builds' outputs compared byte for byte.
#   bash bench/summary-query-speed.sh OLD/dist/bundle/main.js dist/bundle/main.js /tmp/p100k.db [REPEAT]
set -euo pipefail
OLD=${1:?usage: OLD_BIN NEW_BIN DB [REPEAT]}; NEW=${2:?}; DB=${3:?}; REPEAT=${4:-3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp "$DB" "$tmp/old.db"; cp "$DB" "$tmp/new.db"
node "$OLD" query runs --db "$tmp/old.db" > /dev/null; node "$NEW" query runs --db "$tmp/new.db" > /dev/null
queries=("summary" "latency" "latency_linear")
printf '%-16s %-5s %s\n' query build "cpu s (each run)"
for q in "${queries[@]}"; do
  for b in old new; do : > "$tmp/$q.$b.cpu"; done
  for _ in $(seq "$REPEAT"); do
    for b in old new; do
      bin=$OLD; [ "$b" = new ] && bin=$NEW
      /usr/bin/time -f '%U %S' -o "$tmp/t" node "$bin" query "$q" --db "$tmp/$b.db" --run 1 --json > "$tmp/$q.$b.out"
      awk '{ printf "%.2f ", $1 + $2 }' "$tmp/t" >> "$tmp/$q.$b.cpu"
    done
  done
  for b in old new; do printf '%-16s %-5s %s\n' "$q" "$b" "$(cat "$tmp/$q.$b.cpu")"; done
  if cmp -s "$tmp/$q.old.out" "$tmp/$q.new.out"; then echo "$q: outputs identical"; else echo "$q: OUTPUTS DIFFER"; fi
done
