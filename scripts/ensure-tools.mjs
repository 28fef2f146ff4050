// Installs the system tools Nova's function sandbox uses when they are
// missing: bubblewrap (namespaces), slirp4netns (egress for functions with
// network=egress) and iproute2 (their routes, and the tests' test hosts).
// Run by `npm start` and `npm test`; as root on a machine with apt-get it
// installs them, otherwise it says what is missing and Nova reports the
// weaker sandbox at start and in Health (docs/security.md).
// `--bench` adds the load generator the benchmarks use (h2load).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const tools = [
  { command: 'bwrap', pkg: 'bubblewrap' },
  { command: 'slirp4netns', pkg: 'slirp4netns' },
  { command: 'ip', pkg: 'iproute2' },
  { command: 'nsenter', pkg: 'util-linux' },
  ...(process.argv.includes('--bench') ? [{ command: 'h2load', pkg: 'nghttp2-client' }] : []),
];

const onPath = (command) =>
  ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((dir) => existsSync(`${dir}/${command}`));

const missing = tools.filter((tool) => !onPath(tool.command));
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
