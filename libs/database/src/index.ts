export { BitpinCluster, CNPG_STATUS_PORT } from './bitpin-cluster.js';
export type { BitpinClusterProps, ManagedRole } from './bitpin-cluster.js';
export { DatabaseChart } from './database-chart.js';
export type { DatabaseChartProps } from './database-chart.js';
