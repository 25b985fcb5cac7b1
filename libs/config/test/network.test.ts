import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  cidrStrictlyContains,
  exceptWithin,
  ipInCidr,
  isWideCidr,
  loadEnvConfig,
  nthAddress,
} from '../src/index.js';
import { errorOf } from './support/errors.js';


describe('CIDR arithmetic', () => {
  it('contains, strictly contains, addresses', () => {
    expect(cidrContains('0.0.0.0/0', '10.244.0.0/16')).toBe(true);
    expect(cidrContains('10.244.0.0/16', '10.244.0.0/16')).toBe(true);
    expect(cidrStrictlyContains('10.244.0.0/16', '10.244.0.0/16')).toBe(false);
    expect(cidrContains('10.96.0.0/12', '10.111.255.0/24')).toBe(true);
    expect(cidrContains('10.96.0.0/12', '10.112.0.0/24')).toBe(false);
    expect(ipInCidr('10.0.0.7', '10.0.0.0/24')).toBe(true);
    expect(ipInCidr('10.0.1.7', '10.0.0.0/24')).toBe(false);
    expect(nthAddress('10.244.0.0/16', 258)).toBe('10.244.1.2');
    expect(() => nthAddress('10.0.0.0/30', 4)).toThrow('10.0.0.0/30 has no address number 4 (it holds 4)');
    expect([isWideCidr('0.0.0.0/0'), isWideCidr('128.0.0.0/1'), isWideCidr('10.0.0.0/8')]).toEqual([true, true, false]);
  });

  it('exceptWithin keeps the ranges strictly inside the block, outermost first, once', () => {
    expect(exceptWithin('0.0.0.0/0', ['10.96.0.0/12', '10.244.0.0/16', '10.244.5.0/24', '10.244.0.0/16', '0.0.0.0/0'])).toEqual(['10.96.0.0/12', '10.244.0.0/16']);
    // Disjoint ranges need no exception; the Kubernetes API refuses an except outside the cidr.
    expect(exceptWithin('10.0.0.0/24', ['10.244.0.0/16', '10.96.0.0/12'])).toEqual([]);
  });
});

describe('network addresses of an env', () => {
  it('staging and prod name narrow API server and node addresses, and the cluster ranges', () => {
    expect(loadEnvConfig('prod').features.networkPolicies).toMatchObject({
      cluster: { podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'], nodeCidrs: ['10.0.0.0/16'] },
      apiServer: { cidrs: ['10.0.0.0/24'] },
      alertReceivers: { cidrs: ['0.0.0.0/0'] },
      allowWide: {},
    });
    expect(loadEnvConfig('staging').features.networkPolicies).toMatchObject({ cluster: { nodeCidrs: ['10.1.0.0/16'] }, apiServer: { cidrs: ['10.1.0.0/24'] } });
  });

  it('fails with one line when prod leaves the API server wide without saying why', () => {
    const e = errorOf(() => loadEnvConfig('prod', { overrides: { features: { networkPolicies: { apiServer: { cidrs: ['0.0.0.0/0'] } } } } }));
    expect(e.lines).toEqual([
      'config error: env "prod" at features.networkPolicies.apiServer.cidrs.0: 0.0.0.0/0 is wider than /8: the policies would let pods reach any machine on 443, 6443, not only the API server; ' +
        "give the API server's addresses (the control-plane nodes' /32s, or the managed endpoint), or add features.networkPolicies.allowWide.apiServer with the reason; " +
        'fix libs/config/src/envs/prod.ts or command-line overrides',
    ]);
  });

  it('fails for wide node addresses in staging; a reason allows them, and a reason without a wide block is refused', () => {
    const wide = { cluster: { nodeCidrs: ['0.0.0.0/0'] } };
    const e = errorOf(() => loadEnvConfig('staging', { overrides: { features: { networkPolicies: wide } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(/^config error: env "staging" at features\.networkPolicies\.cluster\.nodeCidrs\.0: 0\.0\.0\.0\/0 is wider than \/8: .*or add features\.networkPolicies\.allowWide\.nodeCidrs with the reason; fix /);
    const allowed = loadEnvConfig('staging', { overrides: { features: { networkPolicies: { ...wide, allowWide: { nodeCidrs: 'nodes come and go across the provider range' } } } } });
    expect(allowed.features.networkPolicies.cluster.nodeCidrs).toEqual(['0.0.0.0/0']);
    const unneeded = errorOf(() => loadEnvConfig('prod', { overrides: { features: { networkPolicies: { allowWide: { apiServer: 'just in case of changes' } } } } }));
    expect(unneeded.lines).toEqual([
      'config error: env "prod" at features.networkPolicies.allowWide.apiServer: is not needed: apiServer.cidrs has no block wider than /8; remove it; fix libs/config/src/envs/prod.ts or command-line overrides',
    ]);
    expect(errorOf(() => loadEnvConfig('prod', { overrides: { features: { networkPolicies: { ...wide, allowWide: { nodeCidrs: 'because' } } } } })).message).toMatch(
      /allowWide\.nodeCidrs: give the reason/,
    );
  });

  it('envs without network policies keep the wide defaults (nothing renders them)', () => {
    expect(loadEnvConfig('dev').features.networkPolicies).toMatchObject({ enabled: false, apiServer: { cidrs: ['0.0.0.0/0'] }, cluster: { nodeCidrs: ['0.0.0.0/0'] } });
  });

  it('fails when the ranges cannot be told apart: services in the pod range, API server or receivers inside pods, services or nodes', () => {
    const e = errorOf(() =>
      loadEnvConfig('prod', {
        overrides: {
          features: {
            networkPolicies: {
              cluster: { podCidrs: ['10.96.0.0/16'] },
              apiServer: { cidrs: ['10.96.0.1/32'] },
              alertReceivers: { cidrs: ['10.0.5.0/24'] },
            },
          },
        },
      }),
    );
    expect(e.lines.map((l) => l.replace(/^config error: env "prod" at ([^ ]+): (.*); fix .*$/, '$1: $2'))).toEqual([
      "features.networkPolicies.cluster.serviceCidrs.0: 10.96.0.0/12 overlaps the pod range 10.96.0.0/16 (cluster.podCidrs.0); give the cluster's own ranges (--service-cluster-ip-range, --cluster-cidr), which never overlap",
      'features.networkPolicies.apiServer.cidrs.0: 10.96.0.1/32 lies inside the pod range 10.96.0.0/16 (cluster.podCidrs.0): a NetworkPolicy cannot tell the API server from those addresses; give addresses outside it',
      'features.networkPolicies.alertReceivers.cidrs.0: 10.0.5.0/24 lies inside the node range 10.0.0.0/16: receivers are outside the cluster; give their own addresses',
    ]);
  });
});
