/**
 * Why a capture ended without a result. executeCapture turns each into a `failed` outcome whose reason is the
 * message; the class says what happened, for the code that throws and the logs that read it.
 */
export abstract class CaptureFailure extends Error {
  override readonly name: string = this.constructor.name;
}

/** The job cannot run as given (unknown tool, invalid parameters, a duration out of bounds), or the tool failed to run. */
export class CaptureRefused extends CaptureFailure {}

/** The tool printed more than its `limits.maxOutputBytes`: the capture was stopped and what it printed is dropped. */
export class OutputLimitExceeded extends CaptureFailure {}

/** The tool did not finish printing within its stop grace and was killed: what it printed is incomplete. */
export class CaptureKilled extends CaptureFailure {}

/**
 * What the tool's parser returned is not what its result schema (result.ts) says: a parser bug or a tool output the
 * parser misread. Nothing is stored as the result; the reason names the tool and the first path that is wrong.
 */
export class ResultSchemaMismatch extends CaptureFailure {
  constructor(tool: string, path: readonly PropertyKey[], problem: string) {
    super(`${tool} returned a result that does not match its schema at ${path.length > 0 ? path.map(String).join('.') : '(the result itself)'}: ${problem}`);
  }
}
