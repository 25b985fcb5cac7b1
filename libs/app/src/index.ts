export { APP_PORTS, BitpinApp } from './bitpin-app.js';
export type { BitpinAppProps } from './bitpin-app.js';
export { AppChart } from './app-chart.js';
