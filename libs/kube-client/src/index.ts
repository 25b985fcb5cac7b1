export {
  KubeClient,
  METADATA_ONLY,
  METADATA_ONLY_LIST,
  type ClientStats,
  type HttpMethod,
  type KubeClientOptions,
  type RequestOptions,
  type ResponseInfo,
} from './client.js';
export { kubeconfigFiles, loadKubeAccess, readKubeconfig, type KubeAccess, type KubeAccessOptions } from './config.js';
export { apiVersionOf, Discovery, DISCOVERY_TTL_MS, resourcePath, type ResourceInfo, type ServerVersion } from './discovery.js';
export { ApiError, PreflightError, type StatusDetails } from './errors.js';
export { isApiError, ObjectClient, type ApplyOptions, type ObjectClientOptions, type CreateOptions, type FieldValidation, type ListOptions } from './objects.js';
export type { Condition, KubeList, KubeObject, ManagedFieldsEntry, ObjectMeta, OwnerReference } from './types.js';
export { conditionOf, hasCondition, waitFor, type WaitForOptions } from './wait.js';
