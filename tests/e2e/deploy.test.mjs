// deploy/: the Kubernetes manifests (a kustomize base, deploy/k8s) and the
// container recipe, checked without a cluster:
//   - every file the kustomization lists parses, and each object validates
//     against its real schema: the Kubernetes OpenAPI schemas compiled in the
//     npm package kubernetes-models (pinned in package.json), plus a check for
//     unknown fields (what `kubectl --validate=strict` rejects) read from the
//     same package's type declarations; the InferencePool against the CRD's
//     own openAPIV3Schema (tests/data/k8s/, see its README), with ajv, unknown
//     fields rejected as the API server's structural pruning would;
//   - the objects agree with each other and with yun: selectors match the pod
//     labels, ports agree, probe paths are routes of the server, every flag in
//     the container's args is a flag of `yun serve`, secrets and volumes named
//     exist, the grace period covers preStop + drain, the HPA's metric is the
//     adapter rule's and names a metric yun exports;
//   - with kubectl on the PATH, `kubectl kustomize` renders the same objects;
//   - with buildah (and root), deploy/build-image-offline.sh builds the image
//     from scratch, and the binary in it, run as user 10001 in a chroot of the
//     image's root file system, serves the tiny test model.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import Ajv from 'ajv';
import YAML from 'yaml';

import { freePort, makeModelDir, prerequisites, repoRoot, sleep, yunBin } from './helpers.mjs';

const base = path.join(repoRoot, 'deploy', 'k8s');
const modelsRoot = path.join(repoRoot, 'node_modules', 'kubernetes-models');
const crdFile = path.join(repoRoot, 'tests', 'data', 'k8s',
  'inference.networking.k8s.io_inferencepools.v1.6.0.yaml');
const skip = !fs.existsSync(modelsRoot) && 'node_modules missing (npm ci)';
const read = (...p) => fs.readFileSync(path.join(repoRoot, ...p), 'utf8');

function loadBase() {
  const kust = YAML.parse(fs.readFileSync(path.join(base, 'kustomization.yaml'), 'utf8'));
  const objects = [];
  for (const file of kust.resources) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(base, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
      const o = doc.toJS();
      if (o) objects.push({ file, o });
    }
  }
  return { kust, objects };
}

// The type declarations of kubernetes-models: each interface's fields, and
// where the interface of an object-typed field is declared.
function dtsFields(file) {
  const text = fs.readFileSync(file, 'utf8');
  const imports = {};
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) {
    const spec = m[2];
    const p = spec.startsWith('.')
      ? path.resolve(path.dirname(file), spec.replace(/\.js$/, '.d.ts'))
      : path.join(repoRoot, 'node_modules', `${spec}.d.ts`);
    imports[m[1]] = p;
  }
  const body = text.slice(text.indexOf('export interface'));
  const end = body.indexOf('\n}');
  const fields = {};
  for (const m of body.slice(0, end).matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) {
    const type = m[2];
    const arr = type.match(/^Array<(\w+)>$/);
    const name = arr ? arr[1] : type;
    fields[m[1]] = { array: !!arr, file: /^I\w+$/.test(name) && imports[name] ? imports[name] : null };
  }
  return fields;
}

// Field names not in the schema, as JSON paths ("spec.template.spec.containers[0].readinesProbe").
function unknownFields(obj, file, where = '') {
  if (!fs.existsSync(file) || obj === null || typeof obj !== 'object') return [];
  const fields = dtsFields(file);
  if (Object.keys(fields).length === 0) return [];  // an alias (IntOrString, Quantity)
  const out = [];
  for (const [k, v] of Object.entries(obj)) {
    const f = fields[k];
    const at = where ? `${where}.${k}` : k;
    if (!f) { out.push(at); continue; }
    if (!f.file) continue;
    if (f.array && Array.isArray(v)) v.forEach((x, i) => out.push(...unknownFields(x, f.file, `${at}[${i}]`)));
    else if (!f.array) out.push(...unknownFields(v, f.file, at));
  }
  return out;
}

// The kubernetes-models module of an apiVersion + kind ("apps/v1", "Deployment").
function modelPath(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [null, apiVersion];
  return path.join(modelsRoot, ...(group ? [group, version] : [version]), `${kind}.js`);
}

// The InferencePool CRD's schema, with unknown fields rejected (structural
// schemas prune them; kubectl's strict validation refuses them).
function strictCrdSchema() {
  const crd = YAML.parse(fs.readFileSync(crdFile, 'utf8'));
  const v1 = crd.spec.versions.find((v) => v.name === 'v1');
  const strict = (s) => {
    if (!s || typeof s !== 'object') return s;
    if (s.type === 'object' && s.properties && s.additionalProperties === undefined &&
        !s['x-kubernetes-preserve-unknown-fields']) s.additionalProperties = false;
    for (const v of Object.values(s.properties || {})) strict(v);
    if (s.items) strict(s.items);
    if (typeof s.additionalProperties === 'object') strict(s.additionalProperties);
    return s;
  };
  const schema = strict(structuredClone(v1.schema.openAPIV3Schema));
  schema.properties.metadata = { type: 'object', required: ['name'] };
  return { crd, schema };
}

async function validateObject(o) {
  if (o.apiVersion === 'inference.networking.k8s.io/v1' && o.kind === 'InferencePool') {
    const { schema } = strictCrdSchema();
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const ok = ajv.validate(schema, o);
    return ok ? [] : ajv.errors.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  }
  const mp = modelPath(o.apiVersion, o.kind);
  assert.ok(fs.existsSync(mp), `no schema for ${o.apiVersion} ${o.kind}`);
  const mod = await import(mp);
  const Model = mod[o.kind];
  const errors = [];
  try { new Model(o).validate(); } catch (e) { errors.push(e.message); }
  for (const u of unknownFields(o, mp.replace(/\.js$/, '.d.ts'))) errors.push(`unknown field ${u}`);
  return errors;
}

const subset = (a, b) => Object.entries(a).every(([k, v]) => b[k] === v);

describe('deploy/: manifests valid against real schemas, consistent with yun', { skip }, () => {
  const { objects } = skip ? { objects: [] } : loadBase();
  const find = (kind) => objects.filter((x) => x.o.kind === kind).map((x) => x.o);
  const one = (kind) => { const l = find(kind); assert.equal(l.length, 1, kind); return l[0]; };

  test('the kustomization lists every manifest in deploy/k8s', () => {
    const files = fs.readdirSync(base).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    const listed = new Set(objects.map((x) => x.file));
    assert.deepEqual(files.sort(), [...listed].sort());
    const kinds = objects.map((x) => x.o.kind).sort();
    assert.deepEqual(kinds, ['Deployment', 'HorizontalPodAutoscaler', 'InferencePool',
      'PersistentVolumeClaim', 'PodDisruptionBudget', 'Secret', 'Service']);
  });

  test('every object validates against its schema (no unknown fields)', async () => {
    for (const { file, o } of objects) {
      assert.deepEqual(await validateObject(o), [], `${file}: ${o.kind} ${o.metadata?.name}`);
    }
  });

  test('the validators reject broken manifests (the check can fail)', async () => {
    const dep = structuredClone(one('Deployment'));
    dep.spec.template.spec.containers[0].readinesProbe = dep.spec.template.spec.containers[0].readinessProbe;
    assert.ok((await validateObject(dep)).some((e) => /readinesProbe/.test(e)));
    const dep2 = structuredClone(one('Deployment'));
    dep2.spec.template.spec.containers[0].ports[0].containerPort = 'eight thousand';
    assert.ok((await validateObject(dep2)).length > 0);
    const pool = structuredClone(one('InferencePool'));
    delete pool.spec.targetPorts;
    assert.ok((await validateObject(pool)).length > 0, 'targetPorts is required');
    const pool2 = structuredClone(one('InferencePool'));
    pool2.spec.targetPortNumber = 8000;  // the v1alpha2 field name
    assert.ok((await validateObject(pool2)).some((e) => /additional/.test(e)));
    const hpa = structuredClone(one('HorizontalPodAutoscaler'));
    hpa.spec.metrics[0].pods.metric = { nam: 'vllm_num_requests_waiting' };  // name is required
    const hpaErrors = await validateObject(hpa);
    assert.ok(hpaErrors.some((e) => /name/.test(e)) && hpaErrors.some((e) => /unknown field .*nam$/.test(e)),
      hpaErrors.join('; '));
  });

  test('the InferencePool schema is the real CRD (group, version, kind)', () => {
    const { crd } = strictCrdSchema();
    assert.equal(crd.spec.group, 'inference.networking.k8s.io');
    assert.equal(crd.spec.names.kind, 'InferencePool');
    assert.ok(crd.spec.versions.some((v) => v.name === 'v1' && v.served && v.storage));
  });

  test('selectors, ports, probes, args, secrets and volumes agree', () => {
    const dep = one('Deployment');
    const pod = dep.spec.template;
    const labels = pod.metadata.labels;
    const c = pod.spec.containers.find((x) => x.name === 'yun');
    assert.equal(labels['llm-d.ai/engine-type'], 'vllm');
    assert.ok(subset(dep.spec.selector.matchLabels, labels), 'Deployment selector matches its pods');
    const svc = one('Service');
    assert.ok(subset(svc.spec.selector, labels), 'Service selector matches the pods');
    const pool = one('InferencePool');
    assert.ok(subset(pool.spec.selector.matchLabels, labels), 'InferencePool selects the pods');
    const pdb = one('PodDisruptionBudget');
    assert.ok(subset(pdb.spec.selector.matchLabels, labels), 'PDB selects the pods');
    assert.ok(pdb.spec.maxUnavailable < dep.spec.replicas);

    // Ports: the container's port is the one yun listens on, the Service's
    // targetPort and the pool's target port name it, the scrape annotation too.
    const portByName = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
    const flag = (name) => { const i = c.args.indexOf(name); return i < 0 ? undefined : c.args[i + 1]; };
    const listen = Number(flag('--port'));
    assert.equal(portByName.http, listen);
    assert.equal(flag('--host'), '0.0.0.0');
    const resolve = (p) => (typeof p === 'string' ? portByName[p] : p);
    assert.equal(resolve(svc.spec.ports[0].targetPort), listen);
    assert.deepEqual(pool.spec.targetPorts.map((p) => p.number), [listen]);
    assert.equal(Number(pod.metadata.annotations['prometheus.io/port']), listen);

    // Probes: /health live, /health/ready ready, both routes of the server.
    const service = read('src', 'yun', 'serve', 'openai_service.cc');
    const routes = new Set([...service.matchAll(/routes_\.add\(\{"GET", "([^"]+)"/g)].map((m) => m[1]));
    assert.equal(c.livenessProbe.httpGet.path, '/health');
    assert.equal(c.readinessProbe.httpGet.path, '/health/ready');
    for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      assert.ok(routes.has(p.httpGet.path), `probe path ${p.httpGet.path} is a route`);
      assert.equal(resolve(p.httpGet.port), listen);
    }
    assert.equal(pod.metadata.annotations['prometheus.io/path'], '/metrics');
    assert.ok(routes.has('/metrics'));

    // Every --flag in the args is one of `yun serve`'s (its help text, or the engine flags).
    const help = read('src', 'yun', 'cli', 'cmd_serve.cc') + read('src', 'yun', 'cli', 'engine_flags.cc');
    for (const a of c.args.filter((x) => x.startsWith('--'))) {
      assert.ok(help.includes(`"${a}"`), `yun serve takes ${a}`);
    }
    assert.equal(c.args[0], 'serve');

    // $(VAR) in args come from env entries, which come from the Secret's keys.
    const env = Object.fromEntries(c.env.map((e) => [e.name, e]));
    const secret = one('Secret');
    const keys = new Set(Object.keys({ ...secret.data, ...secret.stringData }));
    for (const a of c.args) {
      for (const m of a.matchAll(/\$\((\w+)\)/g)) {
        const e = env[m[1]];
        assert.ok(e, `env ${m[1]} is defined`);
        assert.equal(e.valueFrom.secretKeyRef.name, secret.metadata.name);
        assert.ok(keys.has(e.valueFrom.secretKeyRef.key), `secret key ${e.valueFrom.secretKeyRef.key}`);
      }
    }
    assert.ok(flag('--db').startsWith('$('), 'the database URL comes from the Secret');

    // Volumes: the claim exists, the model dir is under the read-only mount.
    const pvc = one('PersistentVolumeClaim');
    const vol = pod.spec.volumes.find((v) => v.persistentVolumeClaim);
    assert.equal(vol.persistentVolumeClaim.claimName, pvc.metadata.name);
    const mount = c.volumeMounts.find((m) => m.name === vol.name);
    assert.ok(mount.readOnly);
    assert.ok(c.args[1].startsWith(`${mount.mountPath}/`), 'the model dir is on the model volume');
    assert.ok(c.volumeMounts.some((m) => m.mountPath === '/tmp'), 'a writable /tmp on a read-only root');

    // Drain: preStop sleep + --drain-timeout fit in the grace period.
    const stopCmd = c.lifecycle.preStop.exec.command;
    assert.match(stopCmd[0], /sleep$/);
    const drain = Number(flag('--drain-timeout'));
    assert.ok(pod.spec.terminationGracePeriodSeconds > Number(stopCmd[1]) + drain,
      'terminationGracePeriodSeconds > preStop + drain');

    // Non-root, as the image's user.
    const cf = read('deploy', 'Containerfile');
    const user = cf.match(/^USER (\d+)/m);
    assert.ok(user, 'Containerfile sets a numeric USER');
    assert.equal(pod.spec.securityContext.runAsUser, Number(user[1]));
    assert.ok(pod.spec.securityContext.runAsNonRoot);
    assert.match(cf, new RegExp(`^EXPOSE ${listen}$`, 'm'));
  });

  test('the HPA scales the Deployment on the adapter rule for vllm:num_requests_waiting', () => {
    const hpa = one('HorizontalPodAutoscaler');
    const dep = one('Deployment');
    assert.equal(hpa.spec.scaleTargetRef.kind, 'Deployment');
    assert.equal(hpa.spec.scaleTargetRef.apiVersion, dep.apiVersion);
    assert.equal(hpa.spec.scaleTargetRef.name, dep.metadata.name);
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas >= hpa.spec.minReplicas);
    const m = hpa.spec.metrics[0];
    assert.equal(m.type, 'Pods');
    const adapter = YAML.parse(read('deploy', 'prometheus-adapter-values.yaml'));
    const rule = adapter.rules.custom.find((r) => r.name.as === m.pods.metric.name);
    assert.ok(rule, `an adapter rule serves ${m.pods.metric.name}`);
    const series = rule.seriesQuery.match(/^'?([\w:]+)\{/)[1];
    assert.equal(series, 'vllm:num_requests_waiting');
    assert.ok(new RegExp(rule.name.matches).test(series));
    assert.ok(read('src', 'yun', 'serve', 'metrics.cc').includes(`"${series}`), `yun exports ${series}`);
  });

  test('kubectl kustomize renders the same objects (when kubectl is installed)', (t) => {
    const r = spawnSync('kubectl', ['kustomize', base], { encoding: 'utf8' });
    if (r.error) return t.skip('no kubectl');
    assert.equal(r.status, 0, r.stderr);
    const rendered = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
    const ids = (l) => l.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.deepEqual(ids(rendered), ids(objects.map((x) => x.o)));
  });

  test('the example overlay: the Secret from tenancy.env, the image set (when kubectl is installed)', (t) => {
    if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error) return t.skip('no kubectl');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yun-deploy-'));
    try {
      fs.cpSync(path.join(repoRoot, 'deploy'), path.join(tmp, 'deploy'), { recursive: true });
      const overlay = path.join(tmp, 'deploy', 'overlays', 'example');
      fs.copyFileSync(path.join(overlay, 'tenancy.env.example'), path.join(overlay, 'tenancy.env'));
      const r = spawnSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const rendered = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
      const secret = rendered.find((o) => o.kind === 'Secret');
      assert.equal(secret.metadata.name, 'yun-tenancy');
      assert.equal(secret.stringData, undefined, 'the placeholders are gone');
      assert.match(Buffer.from(secret.data['db-url'], 'base64').toString(), /^postgres:\/\//);
      assert.ok(secret.data['admin-key']);
      const dep = rendered.find((o) => o.kind === 'Deployment');
      assert.equal(dep.spec.template.spec.containers[0].image, 'localhost/yun:0.1.0');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  const buildah = spawnSync('buildah', ['--version'], { encoding: 'utf8' });
  const imageSkip = (buildah.error && 'no buildah') || (process.getuid() !== 0 && 'not root') ||
    prerequisites();
  test('the image builds offline (buildah, from scratch) and serves as user 10001', { skip: imageSkip }, async () => {
    const image = `localhost/yun:e2e-${crypto.randomBytes(4).toString('hex')}`;
    const b = spawnSync(path.join(repoRoot, 'deploy', 'build-image-offline.sh'), [path.dirname(yunBin), image],
      { encoding: 'utf8', env: { ...process.env, KEEP_MOUNTED: '1' } });
    assert.equal(b.status, 0, b.stderr + b.stdout);
    const mnt = b.stdout.match(/^mount: (.+)$/m)[1];
    const ctr = b.stdout.match(/^container: (.+)$/m)[1];
    const buildahDo = (...args) => spawnSync('buildah', ['--storage-driver', 'vfs', ...args], { encoding: 'utf8' });
    let proc = null;
    try {
      const cfg = JSON.parse(buildahDo('inspect', '--type', 'image', image).stdout).OCIv1.config;
      assert.equal(cfg.User, '10001:10001');
      assert.deepEqual(cfg.Entrypoint, ['/opt/yun/bin/yun']);
      assert.ok('8000/tcp' in cfg.ExposedPorts);
      assert.ok('/models' in cfg.Volumes);
      // The model on the image's volume, as the pod mounts it.
      const src = makeModelDir();
      const dst = path.join(mnt, 'models', 'model');
      fs.mkdirSync(dst, { recursive: true });
      for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dst, f));
      const port = await freePort();
      proc = spawn('chroot', ['--userspec=10001:10001', mnt, '/opt/yun/bin/yun', 'serve', '/models/model',
        '--port', String(port), '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      proc.stderr.on('data', (d) => { log += d; });
      const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
      let ready = false;
      for (let i = 0; i < 300 && proc.exitCode === null && !ready; ++i) {
        ready = (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null))?.status === 200;
        if (!ready) await sleep(100);
      }
      assert.ok(ready, `the image's yun became ready:\n${log}`);
      const r = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hi', max_tokens: 3, temperature: 0 }),
      });
      assert.equal(r.status, 200);
      assert.equal((await r.json()).usage.completion_tokens, 3);
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, log);
    } finally {
      if (proc && proc.exitCode === null) proc.kill('SIGKILL');
      buildahDo('rm', ctr);
      buildahDo('rmi', image);
    }
  });
});
