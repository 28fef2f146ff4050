// The baseline: a bare @grpc/grpc-js server answering nova.v1.DataPlane/Invoke
// with the payload it got, loaded with the same .proto and loader options as
// Nova, so a load generator sends both the very same bytes.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFiles, protoLoaderOptions, protoRoot, type dataPlane } from '#proto';

const address = process.argv[2] ?? '127.0.0.1:0';
const definition = protoLoader.loadSync(protoFiles.dataPlane, { ...protoLoaderOptions, includeDirs: [protoRoot] });
const service = definition['nova.v1.DataPlane'] as grpc.ServiceDefinition;
const server = new grpc.Server();
server.addService(service, {
  Invoke(
    call: grpc.ServerUnaryCall<dataPlane.InvokeRequest, dataPlane.InvokeResponse>,
    callback: grpc.sendUnaryData<dataPlane.InvokeResponse>,
  ) {
    const response = { requestId: 'echo', output: call.request.payload, error: '', durationMs: 0, coldStart: false };
    callback(null, { ...response, version: 1, log: '' });
  },
});
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`listening ${port}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
