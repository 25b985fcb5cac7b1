export { SCRIPT_FILES, SCRIPTS_DIR, readScripts, scriptPath } from './scripts.js';
export type { ScriptFile } from './scripts.js';
export { backupDatabaseAccess, backupRoleSetupSql } from './access.js';
export type { BackupAccessProps, BackupDatabaseAccess, BackupManagedRole, BackupRoleSetupProps } from './access.js';
