import { Injectable } from '@nestjs/common';

/** How long the work before a drain may take; past it the drain starts anyway. */
const BEFORE_DRAIN_TIMEOUT_MS = 2000;

/**
 * Raised when the server starts to drain. Calls that would otherwise never
 * end (a log tail) finish on it, so draining waits only for real work; work
 * registered with beforeDrain (a node telling routers it is draining) runs
 * first.
 */
@Injectable()
export class ServerStopping {
  private readonly controller = new AbortController();
  private readonly tasks: (() => Promise<void>)[] = [];

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  beforeDrain(task: () => Promise<void>): void {
    this.tasks.push(task);
  }

  async begin(): Promise<void> {
    this.controller.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.tasks.map((task) => task())),
      new Promise((resolve) => (timer = setTimeout(resolve, BEFORE_DRAIN_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }
}
