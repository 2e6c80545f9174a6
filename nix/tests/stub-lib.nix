# A stub of the few nixpkgs lib functions that modules/*.nix's own logic
# forces, builtins only, for the module tests here (no nixpkgs in CI):
# mkIf and mkMerge leave their arguments visible instead of merging,
# mkOption returns the declaration (so an option's default can be read),
# and mkDefault returns its value.
let
  inherit (builtins) substring stringLength;
in
builtins
// {
  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkOption = o: o;
  mkDefault = v: v;
  mkEnableOption = _: { };
  mkPackageOption = _: _: _: { };
  literalMD = s: s;
  literalExpression = s: s;
  optional = c: x: if c then [ x ] else [ ];
  optionalString = c: s: if c then s else "";
  nameValuePair = name: value: { inherit name value; };
  # As nixpkgs': quoted unless every character is safe in a shell word.
  escapeShellArgs = args: builtins.concatStringsSep " " (
    map (
      a: if builtins.match "[[:alnum:],._+:@%/-]+" a == null then "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] a}'" else a
    ) args
  );
  optionals = c: l: if c then l else [ ];
  optionalAttrs = c: a: if c then a else { };
  hasPrefix = p: s: substring 0 (stringLength p) s == p;
  hasInfix =
    i: s:
    let
      at = k: k + stringLength i <= stringLength s && (substring k (stringLength i) s == i || at (k + 1));
    in
    at 0;
  removePrefix = p: s: if substring 0 (stringLength p) s == p then substring (stringLength p) (stringLength s) s else s;
  unique = builtins.foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];
  mapAttrsToList = f: a: map (n: f n a.${n}) (builtins.attrNames a);
  getExe = _: "rtbd";
  types = { };
}
