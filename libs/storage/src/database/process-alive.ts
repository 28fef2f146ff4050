/** Whether a process with this pid exists (owner files, lock files, postmaster.pid). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive but another user's; ESRCH: gone.
    return (error as { code?: string }).code === 'EPERM';
  }
}
