# go test -json events, slurped: the compiler's output of packages that
# did not build, the output of failed tests and packages, then one line
# per skipped test with its reason (its last log line).
def key: "\(.Package)\t\(.Test // "")";
(map(select(.Action == "output")) | group_by(key)
  | map({key: (.[0] | key), value: (map(.Output) | add)}) | from_entries) as $out
| (.[] | select(.Action == "build-output") | .Output | rtrimstr("\n")),
  (.[] | select(.Action == "fail") | "--- FAIL: \(.Package) \(.Test // "(package)")\n\($out[key] // "")"),
  (.[] | select(.Action == "skip" and .Test != null)
    | "--- SKIP: \(.Package) \(.Test): \(($out[key] // "") | split("\n") | map(select(test("^ +[^ ]+\\.go:[0-9]+: "))) | map(sub("^ +"; "")) | last // "no reason given")")
