/** The cluster side of the deployer; see engine.ts for the map of its files. */
export { Engine, type EngineOptions, type Progress, type ServerVersion, type Task } from './engine.js';
export { ApplyError, explainApplyError, immutableFields, NEVER_REPLACED } from './errors.js';
export { CRD_INFO, NAMESPACE_INFO, PARENT_INFO } from './resources.js';
export { deleteParent, listMembers, listMembersOf, listParents, splitGroupKind, ownParent, readParent, writeParent, type LiveMember } from './parent.js';
export { pendingChanges, plan, PROTECTED_KINDS, type Change, type ChangeKind, type PendingChanges, type Plan } from './plan.js';
export { applyAll, type ApplyAllOptions } from './apply.js';
export { undoInstall } from './undo.js';
export { waitEstablished, waitNamespacesGone } from './waiters.js';
export { deleteMembers, replaceObject, replaceRefusal } from './deletes.js';
export { needsReplicasHandoff, REPLICAS_HANDOFF_MANAGER } from './writes.js';
