import type { ResourceInfo } from '@bitpin/kube-client';
import { PARENT_GROUP, PARENT_KIND, PARENT_RESOURCE, PARENT_VERSION } from '../inventory.js';

/** The parent kind's resource: the deployer owns it, so it is reached without discovery. */
export const PARENT_INFO: ResourceInfo = { group: PARENT_GROUP, version: PARENT_VERSION, kind: PARENT_KIND, resource: PARENT_RESOURCE, namespaced: false };
/** Namespaces (core v1). */
export const NAMESPACE_INFO: ResourceInfo = { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false };
/** CustomResourceDefinitions (built in since 1.16). */
export const CRD_INFO: ResourceInfo = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', resource: 'customresourcedefinitions', namespaced: false };
