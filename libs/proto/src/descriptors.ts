import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackageDefinition } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { protoRoot } from './proto-files.js';

/**
 * The file descriptors buf compiled from our .proto files (generated
 * beside the TypeScript by `npm run proto`), in the shape @grpc/reflection
 * reads. proto-loader's own descriptors are rebuilt by protobufjs, merge
 * files per package and rename fields to camelCase, which grpcurl and buf
 * curl reject; these are the exact ones, with comments.
 */
export function reflectionDescriptors(): PackageDefinition {
  const bytes = readFileSync(join(protoRoot, '..', 'src', 'generated', 'descriptors.binpb'));
  const set = descriptor.FileDescriptorSet.decode(bytes) as unknown as { file: unknown[] };
  const files = set.file.map((file) =>
    descriptor.FileDescriptorProto.encode(file as descriptor.IFileDescriptorProto).finish(),
  );
  // ReflectionService reads only fileDescriptorProtos of each entry.
  return { all: { fileDescriptorProtos: files } } as unknown as PackageDefinition;
}
