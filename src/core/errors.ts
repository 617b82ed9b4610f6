/**
 * Typed domain errors. The API edge maps each to an RFC 9457 problem; workers record their message as a reason.
 */
export interface FieldError {
  path: string;
  message: string;
}

export abstract class TracehoundError extends Error {
  abstract readonly status: number;
  abstract readonly type: string;
  abstract readonly title: string;
}

export class ValidationError extends TracehoundError {
  readonly status = 400;
  readonly type = 'https://tracehound.dev/problems/validation';
  readonly title = 'Invalid request';
  constructor(
    message: string,
    readonly errors: FieldError[],
  ) {
    super(message);
  }
}

export class NotFoundError extends TracehoundError {
  readonly status = 404;
  readonly type = 'https://tracehound.dev/problems/not-found';
  readonly title = 'Not found';
}

export class ConflictError extends TracehoundError {
  readonly status = 409;
  readonly type = 'https://tracehound.dev/problems/conflict';
  readonly title = 'Conflict';
}

export class UnsupportedTargetError extends TracehoundError {
  readonly status = 422;
  readonly type = 'https://tracehound.dev/problems/unsupported-target';
  readonly title = 'Target cannot be resolved';
}

/** A capture the node cannot run (missing tracer, no BTF, bpftrace absent...). */
export class CapabilityError extends TracehoundError {
  readonly status = 422;
  readonly type = 'https://tracehound.dev/problems/capability';
  readonly title = 'Node lacks a capability';
}

export class ServiceUnavailableError extends TracehoundError {
  readonly status = 503;
  readonly type = 'https://tracehound.dev/problems/unavailable';
  readonly title = 'Service unavailable';
}

/** What this deployment cannot do at all (an event stream through AWS Lambda): retrying will not help. */
export class NotImplementedError extends TracehoundError {
  readonly status = 501;
  readonly type = 'https://tracehound.dev/problems/not-implemented';
  readonly title = 'Not available in this deployment';
}

/** No credential, or one that does not check out. */
export class UnauthorizedError extends TracehoundError {
  readonly status = 401;
  readonly type = 'https://tracehound.dev/problems/unauthorized';
  readonly title = 'Unauthorized';
}

/**
 * A valid identity asking for something outside its scopes, namespaces or playbooks. `errors` names the request
 * fields it may not use (say `target.cgroup` for a namespace-limited token), so the caller knows what to drop.
 */
export class ForbiddenError extends TracehoundError {
  readonly status = 403;
  readonly type = 'https://tracehound.dev/problems/forbidden';
  readonly title = 'Forbidden';
  constructor(
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

export class RateLimitedError extends TracehoundError {
  readonly status = 429;
  readonly type = 'https://tracehound.dev/problems/rate-limited';
  readonly title = 'Too many requests';
  constructor(
    message: string,
    readonly retryAfterSec: number,
  ) {
    super(message);
  }
}

/** A request body over the configured limit (API_BODY_LIMIT, CHATOPS_BODY_LIMIT); refused before it is read whole. */
export class PayloadTooLargeError extends TracehoundError {
  readonly status = 413;
  readonly type = 'https://tracehound.dev/problems/payload-too-large';
  readonly title = 'Request body too large';
}

/**
 * Stored data a request asks the server to process is bigger than it will process (RENDER_MAX_INPUT); `errors`
 * names the request fields that point at the too-big data (say `otherId` for the second profile of a diff).
 */
export class InputTooLargeError extends TracehoundError {
  readonly status = 422;
  readonly type = 'https://tracehound.dev/problems/input-too-large';
  readonly title = 'Input too large';
  constructor(
    message: string,
    readonly errors: FieldError[],
  ) {
    super(message);
  }
}

/** A bounded resource (the render pool) is full; the same request may succeed after `retryAfterSec`. */
export class OverloadedError extends TracehoundError {
  readonly status = 503;
  readonly type = 'https://tracehound.dev/problems/overloaded';
  readonly title = 'Server busy';
  constructor(
    message: string,
    readonly retryAfterSec: number,
  ) {
    super(message);
  }
}
