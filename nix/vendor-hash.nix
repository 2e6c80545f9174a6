# vendorHash of the rtbd Go module: the NAR hash of a fresh `go mod vendor`
# (see reference/nixos.md §4). The only place it is stored.
# Refresh after changing go.mod/go.sum:   nix/update-vendor-hash.sh
# Checked by .ci/nix-checks.sh (and by `nix build .#rtbd.goModules`).
"sha256-1u33FAS3aEUBRGvikIen2/FM+W9Pg48xiQu3rold86Q="
