# exposeModules ./modules [ ./modules/rtbd.nix ./modules/tuning/cpu.nix ]
# -> { rtbd = …; tuning-cpu = …; }: flake module names derived from paths,
# the srvos way (https://github.com/nix-community/srvos/blob/main/lib/exposeModules.nix).
# Each value keeps `_file` so errors name the real file. Builtins only.
baseDir: paths:
let
  inherit (builtins) stringLength substring replaceStrings listToAttrs match;
  base = toString baseDir;
  prefix = stringLength base + 1;
  nameOf =
    path:
    let
      rel = substring prefix (stringLength (toString path)) (toString path);
      m = match "(.*)/default\\.nix|(.*)\\.nix" rel;
      stem = if m == null then rel else if builtins.elemAt m 0 != null then builtins.elemAt m 0 else builtins.elemAt m 1;
    in
    if substring 0 prefix (toString path) != base + "/" then
      throw "exposeModules: ${toString path} is not under ${base}"
    else
      replaceStrings [ "/" ] [ "-" ] stem;
in
listToAttrs (
  map (path: {
    name = nameOf path;
    value = {
      _file = toString path;
      imports = [ path ];
    };
  }) paths
)
