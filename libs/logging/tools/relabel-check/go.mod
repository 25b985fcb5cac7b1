// relabel-check: Promtail's relabeling and path glob, from the libraries Promtail 3.5.3 links
// (versions as in github.com/grafana/loki/v3@v3.5.3's go.mod, which scripts/build-relabel-check.sh
// does not download: these are Apache-2.0/MIT modules in their own right).
module bitpin.local/logging/relabel-check

go 1.24.0

require (
	github.com/bmatcuk/doublestar/v4 v4.8.1
	github.com/prometheus/prometheus v0.302.1
	gopkg.in/yaml.v2 v2.4.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/grafana/regexp v0.0.0-20240518133315-a468a5bfb3bc // indirect
	github.com/kr/pretty v0.3.1 // indirect
	github.com/prometheus/client_model v0.6.1 // indirect
	github.com/prometheus/common v0.62.0 // indirect
	golang.org/x/text v0.21.0 // indirect
	google.golang.org/protobuf v1.36.4 // indirect
)

// As in loki v3.5.3: Promtail's regexes run on grafana/regexp at this commit.
replace github.com/grafana/regexp => github.com/grafana/regexp v0.0.0-20240518133315-a468a5bfb3bc
