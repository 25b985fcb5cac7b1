export { BitpinCluster, CNPG_STATUS_PORT } from './bitpin-cluster.js';
export type { BitpinClusterProps, ManagedRole } from './bitpin-cluster.js';
export { DatabaseChart } from './database-chart.js';
export type { DatabaseChartProps } from './database-chart.js';
export { BitpinPooler, POOLER_POD_LABELS, PoolerNetworkPolicies } from './bitpin-pooler.js';
export type { BitpinPoolerProps } from './bitpin-pooler.js';
