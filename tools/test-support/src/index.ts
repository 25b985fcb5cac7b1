export { freePort, freePorts, waitFor } from './net.js';
export { runTool, startProcess, type Proc, type RunOutput, type StartOptions } from './process.js';
export { isCI, missingFile, requireServer, requireServers, serverDecision, type ServerCheck, type ServerDecision, type ServerSuite } from './servers.js';
export {
  describeWithPostgres,
  isRoot,
  makeTls,
  missingPostgresTool,
  own,
  ownedDir,
  ownedTempDir,
  PG_BINDIR,
  PG_INSTALL_HINT,
  PgServer,
  pgTool,
  postgresAvailable,
  runAsPostgres,
  serverUser,
  sqlAt,
  stopAt,
  type PgServerOptions,
  type RunResult,
  type Tls,
  type TlsOptions,
} from './postgres.js';
export { kubeFromConfig, type Kube } from './kube.js';
