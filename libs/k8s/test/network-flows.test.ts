import { describe, expect, it } from 'vitest';
import { allowedFlows, type Endpoint } from '../src/index.js';

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
