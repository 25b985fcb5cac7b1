import { describe, expect, it } from 'vitest';
import { allowedFlows, withPodIps, type Endpoint } from '../src/index.js';

const pod = (id: string, labels: Record<string, string>, ports: number[] = [80], namespaceLabels: Record<string, string> = {}): Endpoint => ({
  id,
  namespace: id.split('/')[0]!,
  labels,
  namespaceLabels,
  ports: ports.map((port) => ({ port, name: `p${port}`, protocol: 'TCP' })),
});
const np = (namespace: string, name: string, spec: object) => ({ kind: 'NetworkPolicy', metadata: { namespace, name }, spec });
const show = (objects: object[], endpoints: Endpoint[]) => allowedFlows(objects, endpoints).map((f) => `${f.from}>${f.to}:${f.port}`).sort();

const a = pod('ns1/a', { app: 'a' });
const b = pod('ns1/b', { app: 'b', tier: 'db' }, [80, 5432]);
const c = pod('ns2/c', { app: 'c' }, [80], { team: 'x' });
const ext: Endpoint = { id: 'ext', ip: '198.51.100.7', ports: [{ port: 443, protocol: 'TCP' }] };

describe('flow evaluation (NetworkPolicy semantics)', () => {
  it('no policy: everything is open', () => {
    expect(show([], [a, b])).toEqual(['ns1/a>ns1/a:80', 'ns1/a>ns1/b:5432', 'ns1/a>ns1/b:80', 'ns1/b>ns1/a:80', 'ns1/b>ns1/b:5432', 'ns1/b>ns1/b:80']);
  });

  it('a selected pod is isolated per direction; rules add up across policies', () => {
    const objs = [
      np('ns1', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }),
      np('ns1', 'db', { podSelector: { matchLabels: { tier: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 5432 }] }] }),
    ];
    expect(show(objs, [a, b])).toEqual(['ns1/a>ns1/b:5432']);
  });

  it('namespaceSelector alone selects every pod of the matching namespaces; with podSelector both must match', () => {
    const objs = [np('ns1', 'b', { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchLabels: { app: 'nope' } } }, { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['ns2'] }] } }], ports: [{ port: 'p80' }] }] })];
    expect(show(objs, [b, c]).filter((x) => x.includes('>ns1/b'))).toEqual(['ns2/c>ns1/b:80']);
  });

  it('ipBlock matches addresses outside the pod network, minus its exceptions; egress isolates the source', () => {
    const objs = [np('ns1', 'out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.0/30'] } }], ports: [{ protocol: 'TCP', port: 400, endPort: 500 }] }] })];
    expect(show(objs, [a, ext]).filter((x) => x.startsWith('ns1/a'))).toEqual(['ns1/a>ext:443']);
    const excepted = { ...ext, ip: '198.51.100.2' };
    expect(show(objs, [a, excepted]).filter((x) => x.startsWith('ns1/a'))).toEqual([]);
  });

  it('an Egress policy without rules denies every destination, pods and addresses', () => {
    expect(show([np('ns1', 'x', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'] })], [a, b, ext]).filter((x) => x.startsWith('ns1/a'))).toEqual([]);
  });
});

describe('ipBlocks and pod IPs (as a pod-IP-matching CNI enforces them)', () => {
  const PODS = '10.244.0.0/16';
  const web = pod('ns1/web', { app: 'web' }, [8443]);
  const client = pod('ns2/client', { app: 'client' });
  const internet: Endpoint = { id: 'internet', ip: '203.0.113.10', ports: [{ port: 8443, protocol: 'TCP' }] };
  const egress = (ipBlock: object) => [np('ns2', 'out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock }], ports: [{ port: 8443 }] }] })];

  it('withPodIps gives every pod an address from the pod range, in order, and leaves the rest alone', () => {
    const taken = { ...pod('ns1/fixed', { app: 'fixed' }), ip: '10.244.0.1' };
    const got = withPodIps([web, internet, taken, client], PODS);
    expect(got.map((e) => `${e.id}=${e.ip}`)).toEqual(['ns1/web=10.244.0.2', 'internet=203.0.113.10', 'ns1/fixed=10.244.0.1', 'ns2/client=10.244.0.3']);
  });

  it('a block that means "anywhere" reaches every pod too; its except for the pod range closes them', () => {
    const eps = withPodIps([web, client, internet], PODS);
    expect(show(egress({ cidr: '0.0.0.0/0' }), eps).filter((x) => x.startsWith('ns2/client>'))).toEqual(['ns2/client>internet:8443', 'ns2/client>ns1/web:8443']);
    expect(show(egress({ cidr: '0.0.0.0/0', except: [PODS] }), eps).filter((x) => x.startsWith('ns2/client>'))).toEqual(['ns2/client>internet:8443']);
  });

  it('pods without an address match no ipBlock (the model without pod IPs)', () => {
    expect(show(egress({ cidr: '0.0.0.0/0' }), [web, client, internet]).filter((x) => x.startsWith('ns2/client>'))).toEqual(['ns2/client>internet:8443']);
  });
});
