# Pure CPU-list helpers (builtins only, so `nix-instantiate --eval` can test
# them without nixpkgs). A CPU list is the kernel's cpulist format
# ("0-3,8"), see https://docs.kernel.org/admin-guide/cgroup-v2.html#cpuset
# ("cpuset.cpus"); a mask is the hex format of /proc/irq/N/smp_affinity and
# /sys/devices/virtual/workqueue/cpumask: 32-bit groups, comma-separated,
# most significant first.
let
  inherit (builtins)
    concatStringsSep
    elem
    filter
    foldl'
    genList
    length
    match
    replaceStrings
    sort
    split
    stringLength
    substring
    ;

  fail = msg: throw "cpulist: ${msg}";

  # parseInt "12" -> 12; rejects anything but decimal digits.
  parseInt =
    s:
    if match "[0-9]+" s == null then
      fail "cannot parse CPU number \"${s}\": want decimal digits"
    else
      builtins.fromJSON (stripZeros s);

  # fromJSON rejects leading zeros ("08"), so strip them first.
  stripZeros =
    s: if stringLength s > 1 && substring 0 1 s == "0" then stripZeros (substring 1 (stringLength s) s) else s;

  range = lo: hi: genList (i: lo + i) (hi - lo + 1);

  uniqueSorted =
    xs:
    foldl' (acc: x: if acc != [ ] && builtins.elemAt acc (length acc - 1) == x then acc else acc ++ [ x ]) [ ] (
      sort (a: b: a < b) xs
    );

  parseItem =
    item:
    let
      m = match "([0-9]+)-([0-9]+)" item;
    in
    if item == "" then
      fail "cannot parse an empty item (doubled or trailing comma?)"
    else if m == null then
      [ (parseInt item) ]
    else
      let
        lo = parseInt (builtins.elemAt m 0);
        hi = parseInt (builtins.elemAt m 1);
      in
      if lo > hi then fail "cannot parse range \"${item}\": start is above end" else range lo hi;

  # parse "0-3, 8" -> [ 0 1 2 3 8 ] (sorted, without duplicates; "" -> []).
  parse =
    s:
    let
      clean = replaceStrings [ " " "\n" "\t" ] [ "" "" "" ] s;
    in
    if clean == "" then [ ] else uniqueSorted (builtins.concatMap parseItem (filter builtins.isString (split "," clean)));

  # Groups a sorted, unique list into [ { lo; hi; } ] runs of consecutive CPUs.
  runs =
    xs:
    foldl' (
      acc: x:
      let
        n = length acc;
        last = builtins.elemAt acc (n - 1);
      in
      if n > 0 && last.hi + 1 == x then
        (genList (builtins.elemAt acc) (n - 1)) ++ [ (last // { hi = x; }) ]
      else
        acc ++ [ { lo = x; hi = x; } ]
    ) [ ] xs;

  # render [ 8 0 1 2 3 ] -> "0-3,8" (the canonical form the kernel prints).
  render =
    xs:
    concatStringsSep "," (
      map (r: if r.lo == r.hi then toString r.lo else "${toString r.lo}-${toString r.hi}") (runs (uniqueSorted xs))
    );

  # normalize "3,0-2" -> "0-3".
  normalize = s: render (parse s);

  # complement n xs: the CPUs of 0..n-1 that are not in xs.
  complement =
    n: xs:
    let
      bad = filter (x: x >= n) xs;
    in
    if bad != [ ] then
      fail "CPU ${toString (builtins.head bad)} is outside the ${toString n} CPUs of this host"
    else
      filter (c: !(elem c xs)) (genList (i: i) n);

  pow2 = k: foldl' (acc: _: acc * 2) 1 (genList (i: i) k);

  hexDigits = [ "0" "1" "2" "3" "4" "5" "6" "7" "8" "9" "a" "b" "c" "d" "e" "f" ];

  # toHex 255 -> "ff" (non-negative only).
  toHex =
    v: if v < 16 then builtins.elemAt hexDigits v else toHex (v / 16) + builtins.elemAt hexDigits (v - (v / 16) * 16);

  padHex8 =
    s: let n = stringLength s; in if n >= 8 then s else concatStringsSep "" (genList (_: "0") (8 - n)) + s;

  # mask [ 0 1 ] -> "3"; mask [ 32 ] -> "1,00000000" (the format of
  # /proc/irq/N/smp_affinity: 32-bit words, the top one unpadded).
  mask =
    xs:
    let
      cpus = uniqueSorted xs;
      top = if cpus == [ ] then 0 else builtins.elemAt cpus (length cpus - 1);
      words = top / 32 + 1;
      word =
        w: foldl' (acc: c: if c / 32 == w then builtins.bitOr acc (pow2 (c - w * 32)) else acc) 0 cpus;
      rendered = genList (i: let w = words - 1 - i; in if i == 0 then toHex (word w) else padHex8 (toHex (word w))) words;
    in
    concatStringsSep "," rendered;
in
{
  inherit
    parse
    render
    normalize
    complement
    mask
    toHex
    ;
  # count "2-15" -> 14.
  count = s: length (parse s);
  # complementString 16 "2-15" -> "0-1".
  complementString = n: s: render (complement n (parse s));
  # maskString "0-1" -> "3".
  maskString = s: mask (parse s);
}
