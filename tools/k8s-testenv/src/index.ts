export {
  acquireTestEnv,
  assertBinaries,
  CONTEXT_NAME,
  down,
  FAKE_NODES,
  HOSTPATH_PV_DIR,
  kubectlPath,
  KWOK_NODE_ANNOTATION,
  kwokStagesYaml,
  NEVER_READY_LABEL,
  missingBinaries,
  releaseTestEnv,
  status,
  STORAGE_CLASS,
  storageClass,
  up,
  type DownOptions,
  type TestEnv,
  type UpOptions,
} from './controlplane.js';
export { CNPG_MODULE, cnpgCrdDir, cnpgCrdPaths, goModuleDir, installCrds, readCrds } from './crds.js';
export { BINARIES, binDir, binPath, BUILD_COMMAND, cacheRoot, stateDir, TOOLS, type BinaryName, type ToolName } from './paths.js';
export {
  CNPG_VERSION,
  ETCD_VERSION,
  KUBERNETES_VERSION,
  KWOK_VERSION,
  PACKAGE_ROOT,
  VERSIONS,
  VERSIONS_FILE,
  type TestEnvVersions,
} from './versions.js';
