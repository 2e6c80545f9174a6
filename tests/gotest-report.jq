# go test -json events, slurped: the compiler's output of packages that
# did not build; for each failed test, the output of it and its subtests
# (as go test prints it without -json), and of each failed package; then
# one line per skipped test with its reason (its last log line).
def top: ((.Test // "") | split("/") | .[0]) // "";
def key($t): "\(.Package)\t\($t)";
(map(select(.Action == "output")) | group_by(key(top))
  | map({key: (.[0] | key(top)), value: (map(.Output) | add)}) | from_entries) as $byTop
| (map(select(.Action == "output")) | group_by(key(.Test // ""))
  | map({key: (.[0] | key(.Test // "")), value: (map(.Output) | add)}) | from_entries) as $byTest
| (.[] | select(.Action == "build-output") | .Output | rtrimstr("\n")),
  (map(select(.Action == "fail") | {Package, Test: top}) | unique | .[]
    | "--- FAIL: \(.Package) \(if .Test == "" then "(package)" else .Test end)\n\($byTop[key(.Test)] // "")"),
  (.[] | select(.Action == "skip" and .Test != null)
    | "--- SKIP: \(.Package) \(.Test): \(($byTest[key(.Test)] // "") | split("\n") | map(select(test("^ +[^ ]+\\.go:[0-9]+: "))) | map(sub("^ +"; "")) | last // "no reason given")")
