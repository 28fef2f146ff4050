import { randomUUID } from 'node:crypto';
import { JsonLogger } from '#server';
import type { Sandbox } from '../sandbox/sandbox.js';
import { Instance } from './instance.js';
import type { LaunchProfile } from './launch.js';

const REFILL_DELAY_MS = 50;

interface ProfileState {
  profile: LaunchProfile;
  ready: Instance[];
  starting: number;
  lastUsedAt: number;
  /** Kept ready even when unused: the default profiles. */
  pinned: boolean;
}

/**
 * Generic, pre-started runtime processes, `size` per launch profile, in the
 * manner of a fork server or Fission's pool manager: a cold start takes one
 * that is already running and only loads the function into it. Taking one
 * starts its replacement in the background.
 */
export class WarmPool {
  private readonly logger = new JsonLogger('warm-pool');
  private readonly profiles = new Map<string, ProfileState>();
  private closed = false;

  constructor(
    private readonly sandbox: Sandbox,
    private readonly size: number,
  ) {}

  /** Keeps `size` processes ready for these profiles from now on. */
  pin(profiles: LaunchProfile[]): void {
    for (const profile of profiles) {
      this.state(profile).pinned = true;
      this.refill(profile);
    }
  }

  async take(profile: LaunchProfile): Promise<Instance> {
    const state = this.state(profile);
    state.lastUsedAt = Date.now();
    let instance = state.ready.pop();
    while (instance && instance.state !== 'generic') instance = state.ready.pop();
    // Starting a runtime costs tens of ms of CPU (fork, exec, interpreter
    // start): start the replacement once this cold start is served, not
    // beside it on a machine of two cores.
    setTimeout(() => this.refill(profile), REFILL_DELAY_MS).unref();
    return instance ?? this.startGeneric(profile);
  }

  /** Stops the processes of profiles unused for idleMs, but for pinned ones. */
  reap(now: number, idleMs: number): void {
    for (const [key, state] of this.profiles) {
      if (state.pinned || now - state.lastUsedAt < idleMs) continue;
      for (const instance of state.ready) void instance.stop();
      this.profiles.delete(key);
    }
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.profiles].map(([key, state]) => [key, state.ready.length]));
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.profiles.values()].flatMap((state) => state.ready);
    this.profiles.clear();
    await Promise.all(all.map((instance) => instance.stop()));
  }

  private state(profile: LaunchProfile): ProfileState {
    let state = this.profiles.get(profile.key);
    if (!state) {
      state = { profile, ready: [], starting: 0, lastUsedAt: Date.now(), pinned: false };
      this.profiles.set(profile.key, state);
    }
    return state;
  }

  private async startGeneric(profile: LaunchProfile): Promise<Instance> {
    const id = randomUUID();
    return Instance.start(id, profile, await this.sandbox.launch(profile, id));
  }

  private refill(profile: LaunchProfile): void {
    const state = this.state(profile);
    while (!this.closed && state.ready.length + state.starting < this.size) {
      state.starting += 1;
      this.startGeneric(profile).then(
        (instance) => {
          state.starting -= 1;
          if (this.closed || this.profiles.get(profile.key) !== state) {
            void instance.stop();
            return;
          }
          state.ready.push(instance);
          instance.onExitOnce(() => {
            const at = state.ready.indexOf(instance);
            if (at >= 0) state.ready.splice(at, 1);
          });
        },
        (error: Error) => {
          state.starting -= 1;
          this.logger.error('could not start a generic process', { profile: profile.key, error: error.message });
        },
      );
    }
  }
}
