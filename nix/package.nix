# rtbd and rtbload, built with buildGoModule (Go 1.26 on nixos-26.05, see
# reference §4). The source is limited with lib.fileset to what the Go build
# reads, so Nix, docs or test edits do not rebuild the binary (comin).
{
  lib,
  buildGoModule,
  version ? "0.1.0",
}:
let
  fs = lib.fileset;
  # Any testdata directory below daemon/ (fileFilter sees names, not paths).
  testdata = fs.fromSource (
    lib.cleanSourceWith {
      src = ../daemon;
      filter = path: type: type == "directory" || lib.hasInfix "/testdata/" path;
    }
  );
in
buildGoModule {
  pname = "rtbd";
  inherit version;

  src = fs.toSource {
    root = ../.;
    fileset = fs.unions [
      ../go.mod
      ../go.sum
      (fs.fileFilter (f: f.hasExt "go") ../daemon)
      # Files embedded with //go:embed (daemon/corpus/corpus.go, daemon/campaign/load.go).
      (fs.maybeMissing ../daemon/corpus)
      (fs.maybeMissing ../daemon/campaign/demo)
      testdata
    ];
  };

  # One place, one refresh command: nix/vendor-hash.nix, nix/update-vendor-hash.sh.
  vendorHash = import ./vendor-hash.nix;

  subPackages = [
    "daemon/cmd/rtbd"
    "daemon/cmd/rtbload"
  ];

  # Static binary, no libc dependency on the appliance.
  env.CGO_ENABLED = 0;

  ldflags = [
    "-s"
    "-w"
    "-X github.com/rtbd/rtbd/daemon/buildinfo.Version=${version}"
  ];

  # Unit tests run in the separate `go-test` flake check (nix/checks.nix),
  # so a flaky test never blocks building a host.
  doCheck = false;

  meta = {
    description = "OpenRTB bid daemon with sub-millisecond decisions, and its load generator";
    homepage = "https://github.com/rtbd/rtbd";
    mainProgram = "rtbd";
    platforms = lib.platforms.linux;
  };
}
