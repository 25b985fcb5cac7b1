// Warm-start benchmark of the local control plane: N rounds of up → down in a throw-away state dir
// (never touches a running shared instance). Needs the binaries (scripts/build.sh) and dist/ (nx build).
//   node tools/k8s-testenv/bench/start-bench.mjs        (ROUNDS=5 to change the round count)
// Anchor: etcd alone, process start → /health, on the same machine in the same run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectClient } from '@bitpin/kube-client';
import { binDir, down, up, VERSIONS } from '../dist/index.js';

const rounds = Number(process.env.ROUNDS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};
const ok = (url) =>
  new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });

async function etcdAlone() {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-testenv-etcd-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t0 = Date.now();
  const child = spawn(join(binDir(), 'etcd'), [
    `--data-dir=${dir}/data`, `--listen-client-urls=http://127.0.0.1:${port}`, `--advertise-client-urls=http://127.0.0.1:${port}`,
    `--listen-peer-urls=http://127.0.0.1:${port + 1}`, `--initial-advertise-peer-urls=http://127.0.0.1:${port + 1}`,
    `--initial-cluster=default=http://127.0.0.1:${port + 1}`, '--unsafe-no-fsync=true', '--log-level=error',
  ], { stdio: 'ignore' });
  while (!(await ok(`http://127.0.0.1:${port}/health`))) await sleep(20);
  const ms = Date.now() - t0;
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), 'k8s-testenv-bench-'));
const env = { ...process.env, BITPIN_TESTENV_DIR: dir };
const anchor = [], readyz = [], total = [], mem = [], bind = [], reclaim = [];
try {
  for (let i = 0; i < rounds; i++) {
    anchor.push(await etcdAlone());
    const te = await up({ env, startedBy: 'manual' });
    readyz.push(te.timings.readyz);
    total.push(te.timings.total);
    await sleep(10_000); // settle, then measure resident memory
    mem.push(Object.values(te.pids).reduce((s, pid) => s + rssMb(pid), 0));
    // Storage: a class-less PVC → default StorageClass → hostPath PV provisioned and Bound; delete → PV gone.
    const client = new ObjectClient(te.kubeconfigPath);
    try {
      const name = `bench-${i}`;
      let t = Date.now();
      await client.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
      let claim;
      while ((claim = await client.get('v1', 'PersistentVolumeClaim', name, 'default')).status?.phase !== 'Bound') await sleep(10);
      bind.push(Date.now() - t);
      t = Date.now();
      await client.delete('v1', 'PersistentVolumeClaim', name, 'default');
      while (await client.tryGet('v1', 'PersistentVolume', claim.spec.volumeName)) await sleep(10);
      reclaim.push(Date.now() - t);
    } finally {
      client.close();
    }
    await down({ env });
  }
} finally {
  await down({ env }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

const a = median(anchor);
console.log(`k8s-testenv start benchmark: ${rounds} rounds, median, Kubernetes ${VERSIONS.kubernetes}, node ${process.version}, load ${loadavg()[0].toFixed(2)}`);
console.log('');
console.log('| what | median ms | × anchor |');
console.log('|---|---|---|');
console.log(`| etcd alone: start → /health (anchor) | ${a} | 1.0 |`);
console.log(`| up → kube-apiserver /readyz | ${median(readyz)} | ${(median(readyz) / a).toFixed(1)} |`);
console.log(`| up → fully up (2 kwok nodes Ready, ${'CNPG'} CRDs Established, controllers working) | ${median(total)} | ${(median(total) / a).toFixed(1)} |`);
console.log(`| PVC create → Bound (default StorageClass, hostPath provisioner) | ${median(bind)} | ${(median(bind) / a).toFixed(2)} |`);
console.log(`| PVC delete → its PV deleted (reclaimPolicy Delete) | ${median(reclaim)} | ${(median(reclaim) / a).toFixed(2)} |`);
console.log('');
console.log(`resident memory of the 5 processes 10 s after start: median ${Math.round(median(mem))} MB`);
