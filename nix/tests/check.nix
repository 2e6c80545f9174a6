# The Nix unit tests' cases and verdict, builtins only.
rec {
  # eq name got want: an equality case.
  eq = name: got: want: { inherit name got want; };
  # throws name expr: a case that must fail with an error (never a value).
  throws = name: expr: {
    inherit name;
    got = (builtins.tryEval (builtins.deepSeq expr expr)).success;
    want = false;
  };
  # failing assertions: the messages of the module assertions that fail.
  failing = assertions: map (a: a.message) (builtins.filter (a: !a.assertion) assertions);
  # check file cases: true when every case got what it wants; otherwise
  # a throw that names file and each failing case.
  check =
    file: cases:
    let
      failures = builtins.filter (c: c.got != c.want) cases;
      show = c: "  ${c.name}: got ${builtins.toJSON c.got}, want ${builtins.toJSON c.want}";
    in
    if failures == [ ] then
      true
    else
      throw "${file}: ${toString (builtins.length failures)} of ${toString (builtins.length cases)} cases failed:\n${
        builtins.concatStringsSep "\n" (map show failures)
      }";
}
