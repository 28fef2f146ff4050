import type { Options } from '@grpc/proto-loader';

/**
 * How every Nova server and client loads the .proto files. It must agree with
 * the ts-proto flags in buf.gen.yaml, or the generated types lie about the
 * objects on the wire: camelCase field names (ts-proto's snakeToCamel),
 * int64 as JS numbers (forceLong=number), enums as numbers, and every field
 * present with its proto3 default (ts-proto's fields are not optional).
 */
export const protoLoaderOptions: Options = {
  keepCase: false,
  longs: Number,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};
