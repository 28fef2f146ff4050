import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'functions' })
export class FunctionEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 63, unique: true })
  name!: string;

  @Column({ type: 'varchar', length: 32 })
  runtime!: string;

  @Column({ type: 'varchar', length: 255 })
  handler!: string;

  @Column({ type: 'varchar', length: 16 })
  mode!: string;

  @Column({ name: 'memory_mb', type: 'integer' })
  memoryMb!: number;

  @Column({ name: 'timeout_s', type: 'integer' })
  timeoutS!: number;

  @Column({ name: 'min_replicas', type: 'integer' })
  minReplicas!: number;

  @Column({ name: 'max_replicas', type: 'integer' })
  maxReplicas!: number;

  @Column({ name: 'env_vars', type: 'jsonb' })
  envVars!: Record<string, string>;

  /** Assigned by the database (an identity column) on insert. */
  @Column({ name: 'sandbox_id', type: 'integer', insert: false, update: false })
  sandboxId!: number;

  @Column({ type: 'varchar', length: 16 })
  network!: string;

  @Column({ name: 'latest_version', type: 'integer' })
  latestVersion!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
