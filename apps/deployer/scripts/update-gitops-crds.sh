#!/usr/bin/env bash
# Refreshes the vendored Argo CD and Flux CRDs that the deployer's GitOps export tests install in
# the test control plane (apps/deployer/test/fixtures/gitops-crds/): copies them out of the Go
# modules at the versions in versions.json there and records each file's module, version, path and
# SHA-256 in PROVENANCE.md. The tests read the copies, so they need neither go nor the network.
# Usage: bash apps/deployer/scripts/update-gitops-crds.sh
# (edit versions.json first to move to another release; the module proxy must serve that version
# to this machine's go, which refuses modules whose go.mod asks for a newer toolchain).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=test/fixtures/gitops-crds
versions="$dir/versions.json"
[ -f "$versions" ] || { echo "update-gitops-crds: $versions is missing" >&2; exit 1; }

version_of() { node -p "require('./$versions')['$1']"; }

module_dir() {
  # shellcheck disable=SC2016 # the single-quoted text is JavaScript for node, not shell
  (cd /tmp && go mod download -json "$1@$2") | node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const j = JSON.parse(s);
      if (j.Error || !j.Dir) { console.error(`update-gitops-crds: ${j.Error ?? "no Dir"}`); process.exit(1); }
      console.log(j.Dir);
    });'
}

# module | file in the module | vendored name
entries=(
  "github.com/argoproj/argo-cd/v3|manifests/crds/application-crd.yaml|argoproj.io_applications.yaml"
  "github.com/fluxcd/kustomize-controller|config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml|kustomize.toolkit.fluxcd.io_kustomizations.yaml"
  "github.com/fluxcd/source-controller|config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml|source.toolkit.fluxcd.io_gitrepositories.yaml"
)

{
  echo "# Vendored GitOps CRDs"
  echo
  echo "Copied by \`bash apps/deployer/scripts/update-gitops-crds.sh\` from the Go modules below (versions in"
  echo "\`versions.json\`), unchanged. Only the deployer's export tests use them: they install them in the test"
  echo "control plane and create the exported \`Application\`, \`GitRepository\` and \`Kustomization\` objects"
  echo "against their schemas. Do not edit by hand."
  echo
  echo "| file | module | version | path in the module | sha256 |"
  echo "|---|---|---|---|---|"
} > "$dir/PROVENANCE.md.tmp"

for e in "${entries[@]}"; do
  IFS='|' read -r module path name <<< "$e"
  version=$(version_of "$module")
  src="$(module_dir "$module" "$version")/$path"
  [ -f "$src" ] || { echo "update-gitops-crds: $module@$version has no $path" >&2; exit 1; }
  cp "$src" "$dir/$name"
  chmod 644 "$dir/$name"
  sum=$(sha256sum "$dir/$name" | cut -d' ' -f1)
  echo "| \`$name\` | \`$module\` | $version | \`$path\` | \`$sum\` |" >> "$dir/PROVENANCE.md.tmp"
  echo "update-gitops-crds: $name ← $module@$version/$path"
done
mv "$dir/PROVENANCE.md.tmp" "$dir/PROVENANCE.md"
