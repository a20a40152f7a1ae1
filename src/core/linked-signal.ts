/**
 * A signal that aborts, with the first one's reason, as soon as any of `signals` does; `unlink`
 * stops it listening to them. (Node 20's `AbortSignal.any` keeps every signal it ever made from
 * a long-lived one, such as the server's own, reachable: one per request would leak.)
 */
export function linkedSignal(signals: AbortSignal[]): { signal: AbortSignal; unlink(): void } {
  const controller = new AbortController();
  const aborted = signals.find((signal) => signal.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    return { signal: controller.signal, unlink: () => undefined };
  }
  const listeners = signals.map((signal) => {
    const listener = () => {
      unlink();
      controller.abort(signal.reason);
    };
    signal.addEventListener('abort', listener, { once: true });
    return { signal, listener };
  });
  const unlink = () => {
    for (const { signal, listener } of listeners) signal.removeEventListener('abort', listener);
  };
  return { signal: controller.signal, unlink };
}
