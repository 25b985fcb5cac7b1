#!/usr/bin/env bash
# Regenerates the wrapper modules go/kubernetes/go.mod and go/etcd/go.mod from versions.json, then
# `go mod tidy`. Run after bumping "kubernetes" or "etcd" in versions.json, then commit go.mod/go.sum.
# The staging-module list is read from the chosen k8s.io/kubernetes version's own go.mod.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

field() { node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[process.argv[2]])' "$HERE/versions.json" "$1"; }
K8S=$(field kubernetes)
ETCD=$(field etcd)
STAGING="v0.${K8S#v1.}"

echo "gen-go-mod: k8s.io/kubernetes $K8S (staging $STAGING), etcd $ETCD"
upstream_mod=$(cd /tmp && go mod download -json "k8s.io/kubernetes@$K8S" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}process.stdout.write(j.GoMod)})')
go_directive=$(grep -m1 -E '^go [0-9]' "$upstream_mod" | cut -d' ' -f2)

{
  echo '// Wrapper module: builds kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from'
  # shellcheck disable=SC2016 # literal backquotes in the generated comment
  echo '// the k8s.io/kubernetes Go module (tools.go). k8s.io/kubernetes itself cannot be `go install`ed (its go.mod'
  echo '// replaces every staging module with ./staging/...; golang/go#44840), so every k8s.io staging'
  echo '// module is replaced here with its published v0.x.y tag. Keep in sync with ../../versions.json'
  echo '// (scripts/build.sh checks). Regenerate: scripts/gen-go-mod.sh'
  echo 'module bitpin.local/k8s-testenv/kubernetes'
  echo
  echo "go $go_directive"
  echo
  echo "require k8s.io/kubernetes $K8S"
  echo
  echo 'replace ('
  grep -E '=> \./staging/src/' "$upstream_mod" | awk -v v="$STAGING" '{print "\t" $1 " => " $1 " " v}'
  echo ')'
} >"$HERE/go/kubernetes/go.mod"
rm -f "$HERE/go/kubernetes/go.sum"
(cd "$HERE/go/kubernetes" && go mod tidy)

cat >"$HERE/go/etcd/go.mod" <<EOF
// Wrapper module: builds the etcd server (go.etcd.io/etcd/server/v3 is itself a main package).
// Kept separate from ../kubernetes so etcd's requirements do not move the apiserver's etcd client.
// Keep in sync with ../../versions.json (scripts/build.sh checks). Regenerate: scripts/gen-go-mod.sh
module bitpin.local/k8s-testenv/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD
EOF
rm -f "$HERE/go/etcd/go.sum"
(cd "$HERE/go/etcd" && go mod tidy)
echo "gen-go-mod: done; review and commit go/*/go.mod go/*/go.sum"
