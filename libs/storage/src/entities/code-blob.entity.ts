import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Code stored once, addressed by the hex sha256 of its bytes. */
@Entity({ name: 'code_blobs' })
export class CodeBlobEntity {
  @PrimaryColumn({ type: 'char', length: 64 })
  sha256!: string;

  @Column({ type: 'bytea' })
  code!: Buffer;

  @Column({ name: 'size_bytes', type: 'integer' })
  sizeBytes!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
