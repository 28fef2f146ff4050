import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One immutable code version of a function; the code itself is in code_blobs. */
@Entity({ name: 'function_versions' })
export class FunctionVersionEntity {
  @PrimaryColumn({ name: 'function_id', type: 'uuid' })
  functionId!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ name: 'code_sha256', type: 'char', length: 64 })
  codeSha256!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
