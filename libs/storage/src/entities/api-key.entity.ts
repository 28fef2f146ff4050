import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An API key; only the sha256 of the secret is stored. */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  /** The first characters of the key, shown in listings to tell keys apart. */
  @Column({ type: 'varchar', length: 32 })
  prefix!: string;

  @Column({ name: 'key_sha256', type: 'char', length: 64, unique: true })
  keySha256!: string;

  @Column({ type: 'varchar', length: 16 })
  scope!: string;

  @Column({ type: 'text' })
  description!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
