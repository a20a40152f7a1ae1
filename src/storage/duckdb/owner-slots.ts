/**
 * A limit on how many leases one owner (a token) holds at once, so that one client sending many
 * slow queries cannot take every connection: its extra queries wait for its own to finish while
 * other owners' run. Waiters of one owner are served in arrival order.
 */
export class OwnerSlots {
  private readonly held = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly perOwner: number) {}

  /** Resolves once `owner` may hold one more lease; call the returned function to give it back. */
  async take(owner: string, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if ((this.held.get(owner) ?? 0) >= this.perOwner) {
      await new Promise<void>((resolve, reject) => {
        const queue = this.waiting.get(owner) ?? [];
        this.waiting.set(owner, queue);
        const wake = (): void => {
          signal.removeEventListener('abort', leave);
          resolve();
        };
        const leave = (): void => {
          queue.splice(queue.indexOf(wake), 1);
          if (queue.length === 0) this.waiting.delete(owner);
          reject(signal.reason);
        };
        signal.addEventListener('abort', leave, { once: true });
        queue.push(wake);
      });
    } else {
      this.held.set(owner, (this.held.get(owner) ?? 0) + 1);
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.giveBack(owner);
    };
  }

  /** The slot passes to the owner's next waiter, if any; the count stays as it is then. */
  private giveBack(owner: string): void {
    const queue = this.waiting.get(owner);
    const next = queue?.shift();
    if (queue?.length === 0) this.waiting.delete(owner);
    if (next) next();
    else if ((this.held.get(owner) ?? 0) <= 1) this.held.delete(owner);
    else this.held.set(owner, this.held.get(owner)! - 1);
  }
}
