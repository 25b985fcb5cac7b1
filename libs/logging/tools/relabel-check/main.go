// Command relabel-check runs the scrape config of a generated Promtail config against Kubernetes pod
// targets, with the code Promtail 3.5.3 runs for it:
//
//   - relabeling: github.com/prometheus/prometheus/model/relabel at the version loki v3.5.3
//     requires (v0.302.1), with the same github.com/grafana/regexp replacement;
//   - what Promtail's file target manager then does (clients/pkg/promtail/targets/file,
//     targetSyncer.sync): drop when relabeling drops, drop a `__host__` other than this node,
//     drop a target without `__path__`, delete every `__`-prefixed label;
//   - the file glob: github.com/bmatcuk/doublestar/v4 FilepathGlob at loki's version.
//
// Promtail itself cannot be linked here (see libs/logging/README.md); this tool reproduces the
// three steps above, which are the ones that turn pod metadata into a log path and stream labels.
//
// Input on stdin (JSON):
//
//	{"config": "<promtail YAML>", "job": "kubernetes-pods", "hostname": "node-a",
//	 "rewrite": {"from": "/var/log/pods", "to": "/tmp/x/var/log/pods"},
//	 "targets": [{"__meta_kubernetes_namespace": "bitpin-task", ...}]}
//
// Output on stdout (JSON): {"results": [{"kept": true, "labels": {...}, "path": "...", "files": [...]}]}
// A config the Prometheus relabel code rejects exits 2 with the error on stderr.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"gopkg.in/yaml.v2"
)

type input struct {
	Config   string `json:"config"`
	Job      string `json:"job"`
	Hostname string `json:"hostname"`
	Rewrite  *struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"rewrite"`
	Targets []map[string]string `json:"targets"`
}

type result struct {
	Kept   bool              `json:"kept"`
	Reason string            `json:"reason,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Path   string            `json:"path,omitempty"`
	Files  []string          `json:"files"`
}

// The part of Promtail's config this tool reads; relabel.Config validates itself while unmarshalling.
type promtailConfig struct {
	ScrapeConfigs []struct {
		JobName        string             `yaml:"job_name"`
		RelabelConfigs []*relabel.Config `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "relabel-check: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail(1, "bad input: %v", err)
	}
	var cfg promtailConfig
	if err := yaml.Unmarshal([]byte(in.Config), &cfg); err != nil {
		fail(2, "config rejected: %v", err)
	}
	var rules []*relabel.Config
	found := false
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName == in.Job {
			rules, found = sc.RelabelConfigs, true
		}
	}
	if !found {
		fail(2, "no scrape config with job_name %q", in.Job)
	}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			fail(2, "relabel_configs[%d] rejected: %v", i, err)
		}
	}

	out := struct {
		Results []result `json:"results"`
	}{Results: []result{}}
	for _, t := range in.Targets {
		processed, keep := relabel.Process(labels.FromMap(t), rules...)
		if !keep {
			out.Results = append(out.Results, result{Reason: "dropped by relabeling", Files: []string{}})
			continue
		}
		m := processed.Map()
		if host, ok := m["__host__"]; ok && host != in.Hostname {
			out.Results = append(out.Results, result{Reason: "wrong host " + host, Files: []string{}})
			continue
		}
		path, ok := m["__path__"]
		if !ok {
			out.Results = append(out.Results, result{Reason: "no path for target", Files: []string{}})
			continue
		}
		for k := range m {
			if strings.HasPrefix(k, "__") {
				delete(m, k)
			}
		}
		glob := path
		if in.Rewrite != nil && strings.HasPrefix(glob, in.Rewrite.From) {
			glob = in.Rewrite.To + strings.TrimPrefix(glob, in.Rewrite.From)
		}
		files, err := doublestar.FilepathGlob(glob)
		if err != nil {
			fail(1, "glob %q: %v", glob, err)
		}
		sort.Strings(files)
		if files == nil {
			files = []string{}
		}
		out.Results = append(out.Results, result{Kept: true, Labels: m, Path: path, Files: files})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(1, "write: %v", err)
	}
}
