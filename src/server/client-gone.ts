import type { FastifyReply } from 'fastify';

/**
 * A signal that aborts when the client goes away before its answer is complete, so that work done
 * only for it (a query) stops. Fastify's `request.signal` is no use for this: it aborts as soon as
 * a request's body has been read.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  if (response.destroyed && !response.writableFinished) controller.abort();
  else response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}
