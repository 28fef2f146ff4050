import { Injectable } from '@nestjs/common';

/**
 * Raised when the server starts to drain. Calls that would otherwise never
 * end (a log tail) finish on it, so draining waits only for real work.
 */
@Injectable()
export class ServerStopping {
  private readonly controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  begin(): void {
    this.controller.abort();
  }
}
