// Installs the system tools Nova's function sandbox uses when they are
// missing: bubblewrap (namespaces), slirp4netns (egress for functions with
// network=egress) and iproute2 (their routes, and the tests' test hosts).
// Run by `npm start` and `npm test`; as root on a machine with apt-get it
// installs them, otherwise it says what is missing and Nova reports the
// weaker sandbox at start and in Health (docs/security.md).
// `--bench` adds the load generator the benchmarks use (h2load); `--test`
// adds grpcio and protobuf for Debian's python3, which the Python client
// test of statehouse.v1 runs on (test/statehouse-python.e2e-spec.ts), openssl
// for the certificates the TLS tests make, and HAProxy for the test that
// runs docker/haproxy.cfg in front of local routers.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const onPath = (command) => () =>
  ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((dir) => existsSync(`${dir}/${command}`));
const pythonHas = (module) => () =>
  spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;

const tools = [
  { present: onPath('bwrap'), pkg: 'bubblewrap' },
  { present: onPath('slirp4netns'), pkg: 'slirp4netns' },
  { present: onPath('ip'), pkg: 'iproute2' },
  { present: onPath('nsenter'), pkg: 'util-linux' },
  ...(process.argv.includes('--bench') ? [{ present: onPath('h2load'), pkg: 'nghttp2-client' }] : []),
  ...(process.argv.includes('--test')
    ? [
        { present: pythonHas('grpc'), pkg: 'python3-grpcio' },
        { present: pythonHas('google.protobuf'), pkg: 'python3-protobuf' },
        { present: onPath('openssl'), pkg: 'openssl' },
        { present: onPath('haproxy'), pkg: 'haproxy' },
      ]
    : []),
];

const missing = tools.filter((tool) => !tool.present());
if (missing.length === 0) process.exit(0);

const packages = missing.map((tool) => tool.pkg);
const isRoot = process.getuid?.() === 0;
if (!isRoot || !existsSync('/usr/bin/apt-get')) {
  console.warn(
    `nova: Nova needs ${packages.join(', ')}; install ${packages.length > 1 ? 'them' : 'it'} ` +
      '(as root, e.g. `apt-get install ' +
      packages.join(' ') +
      '`). Without them functions are less isolated.',
  );
  process.exit(0);
}

console.log(`nova: installing ${packages.join(', ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const install = () =>
  spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
let result = install();
if (result.status !== 0) {
  // The package lists may be missing or stale on a fresh machine.
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  result = install();
}
if (result.status !== 0) {
  console.error(`nova: could not install ${packages.join(', ')}`);
  process.exit(1);
}
