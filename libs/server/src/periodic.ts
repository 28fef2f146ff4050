/** Runs `check` every `ms`, never two at once, until stopped. */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ms: number,
    private readonly check: () => void | Promise<void>,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.ms);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.check();
    } finally {
      this.running = false;
    }
  }
}
