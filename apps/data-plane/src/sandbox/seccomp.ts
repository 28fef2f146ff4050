/**
 * The default seccomp filter of an instance, as the classic BPF program
 * bubblewrap loads (`--seccomp FD`). A deny list in the manner of Docker's
 * default profile: system calls no function needs and that widen the
 * kernel's attack surface or reach outside the sandbox fail with EPERM.
 * Architectures other than x86-64 (32-bit and x32 entry points) are killed,
 * so the list cannot be sidestepped through another syscall table.
 */

// x86-64 system call numbers.
const denied: Record<string, number> = {
  ptrace: 101,
  syslog: 103,
  acct: 163,
  mount: 165,
  umount2: 166,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  sethostname: 170,
  setdomainname: 171,
  init_module: 175,
  delete_module: 176,
  quotactl: 179,
  lookup_dcookie: 212,
  kexec_load: 246,
  add_key: 248,
  request_key: 249,
  keyctl: 250,
  unshare: 272,
  pivot_root: 155,
  perf_event_open: 298,
  name_to_handle_at: 303,
  open_by_handle_at: 304,
  setns: 308,
  process_vm_readv: 310,
  process_vm_writev: 311,
  kcmp: 312,
  finit_module: 313,
  kexec_file_load: 320,
  bpf: 321,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
};
const CLONE = 56;
const CLONE3 = 435;
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;
const ENOSYS = 38;

const LD_ABS_W = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const RET_KILL_PROCESS = 0x80000000;

// Offsets in struct seccomp_data.
const NR = 0;
const ARCH = 4;
const ARG0_LOW = 16;

interface Instruction {
  code: number;
  jt: number | string;
  jf: number | string;
  k: number;
}

/** Whether this machine's filter can be built: the numbers above are x86-64's. */
export function seccompSupported(): boolean {
  return process.arch === 'x64';
}

/** The filter as bytes of struct sock_filter[], ready for bwrap's --seccomp. */
export function buildSeccompFilter(): Buffer {
  const program: Instruction[] = [
    { code: LD_ABS_W, jt: 0, jf: 0, k: ARCH },
    { code: JEQ_K, jt: 0, jf: 'kill', k: AUDIT_ARCH_X86_64 },
    { code: LD_ABS_W, jt: 0, jf: 0, k: NR },
    { code: JGE_K, jt: 'kill', jf: 0, k: X32_SYSCALL_BIT },
    ...Object.values(denied).map((nr) => ({ code: JEQ_K, jt: 'eperm', jf: 0, k: nr })),
    // clone3 passes its flags in memory a filter cannot read: refuse it as
    // unknown, and the C library falls back to clone, whose flags it can.
    { code: JEQ_K, jt: 'enosys', jf: 0, k: CLONE3 },
    { code: JEQ_K, jt: 0, jf: 'allow', k: CLONE },
    { code: LD_ABS_W, jt: 0, jf: 0, k: ARG0_LOW },
    { code: JSET_K, jt: 'eperm', jf: 'allow', k: CLONE_NAMESPACE_FLAGS },
  ];
  const returns: Record<string, number> = {
    allow: RET_ALLOW,
    eperm: RET_ERRNO | EPERM,
    enosys: RET_ERRNO | ENOSYS,
    kill: RET_KILL_PROCESS,
  };
  const labels = Object.keys(returns);
  const at = (label: string): number => program.length + labels.indexOf(label);
  const bytes = Buffer.alloc((program.length + labels.length) * 8);
  program.forEach((instruction, index) => {
    const offset = (target: number | string): number => {
      if (typeof target === 'number') return target;
      const jump = at(target) - index - 1;
      if (jump > 255) throw new Error('seccomp program too long for a relative jump');
      return jump;
    };
    bytes.writeUInt16LE(instruction.code, index * 8);
    bytes.writeUInt8(offset(instruction.jt), index * 8 + 2);
    bytes.writeUInt8(offset(instruction.jf), index * 8 + 3);
    bytes.writeUInt32LE(instruction.k >>> 0, index * 8 + 4);
  });
  labels.forEach((label, index) => {
    const offset = (program.length + index) * 8;
    bytes.writeUInt16LE(RET_K, offset);
    bytes.writeUInt32LE(returns[label]! >>> 0, offset + 4);
  });
  return bytes;
}
