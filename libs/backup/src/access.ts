import { SEED, type EnvConfig } from '@bitpin/config';

/**
 * A CloudNativePG managed role, shaped like `Cluster.spec.managed.roles[]` (structurally the
 * database library's `ManagedRole`; libraries do not import each other, the deployer passes it).
 */
export interface BackupManagedRole {
  readonly name: string;
  readonly comment: string;
  readonly login: boolean;
  readonly replication: boolean;
  readonly superuser: boolean;
  readonly createdb: boolean;
  readonly createrole: boolean;
  readonly inherit: boolean;
  readonly connectionLimit: number;
  readonly inRoles: string[];
  readonly passwordSecret: { readonly name: string };
}

export interface BackupDatabaseAccess {
  /** For `DatabaseChart` props `cluster.roles`. */
  readonly roles: BackupManagedRole[];
  /** For `DatabaseChart` props `cluster.pgHba`: replication over TLS with a password only. */
  readonly pgHba: string[];
  /** Grants a managed role cannot express; run once per cluster as a superuser (see {@link backupRoleSetupSql}). */
  readonly setupSql: string;
}

export interface BackupAccessProps {
  /** @default SEED.backup.role (`bitpin_backup`) */
  readonly role?: string;
  /** @default SEED.backup.credentialsSecret (`bitpin-backup-credentials`) */
  readonly credentialsSecret?: string;
}

/**
 * What the database must grant the backup jobs, and nothing more:
 * - LOGIN + REPLICATION: pg_basebackup, pg_receivewal and creating the WAL slot;
 * - membership of `pg_read_all_data`: pg_dump and the row counts (no write access to app data);
 * - EXECUTE on `pg_switch_wal()`: closes the open WAL segment before each incremental run;
 * - CREATE on the app database: the `bitpin_backup` schema holding the sentinel table it owns;
 * - pg_hba: `hostssl replication <role> all scram-sha-256` (CloudNativePG's final
 *   `host all all all scram-sha-256` covers the ordinary connections, never replication ones).
 */
export function backupDatabaseAccess(env: Pick<EnvConfig, 'database'>, props: BackupAccessProps = {}): BackupDatabaseAccess {
  const role = props.role ?? SEED.backup.role;
  validateRole(role);
  return {
    roles: [
      {
        name: role,
        comment: 'bitpin backup jobs (libs/backup): base backups, WAL archiving, logical dumps',
        login: true,
        replication: true,
        superuser: false,
        createdb: false,
        createrole: false,
        inherit: true,
        // full + incremental + a pg_receivewal stream + the dump's snapshot session.
        connectionLimit: 8,
        inRoles: ['pg_read_all_data'],
        passwordSecret: { name: props.credentialsSecret ?? SEED.backup.credentialsSecret },
      },
    ],
    pgHba: [`hostssl replication ${role} all scram-sha-256`],
    setupSql: backupRoleSetupSql({ role, database: env.database.database }),
  };
}

export interface BackupRoleSetupProps {
  readonly role: string;
  /** The application database (grants on functions and schemas are per database). */
  readonly database: string;
}

/**
 * The grants a CloudNativePG managed role cannot express. Run once per cluster as a superuser
 * connected to the application database, e.g.
 * `kubectl exec -n bitpin-task bitpin-cluster-1 -c postgres -- psql -d app -c "…"`.
 * Idempotent.
 */
export function backupRoleSetupSql(props: BackupRoleSetupProps): string {
  validateRole(props.role);
  if (!/^[a-z0-9_][a-z0-9_-]{0,62}$/.test(props.database)) {
    throw new Error(`backup: 'database' must be a database name (lower-case letters, digits, _ and -), got "${props.database}"`);
  }
  return [
    `-- bitpin backup role grants: run as a superuser connected to database "${props.database}"`,
    `GRANT pg_read_all_data TO ${props.role};`,
    `GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO ${props.role};`,
    `GRANT CREATE ON DATABASE "${props.database}" TO ${props.role};`,
    '',
  ].join('\n');
}

function validateRole(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`backup: 'role' must be a lower-case PostgreSQL identifier (letters, digits, _), got "${name}"`);
  }
}
