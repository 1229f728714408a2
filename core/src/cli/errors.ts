import { ErrorCode, KokexError } from '../errors.js';

/** A wrong argument: printed as one line with the usage hint, exit code 2. */
export class UsageError extends KokexError {
  constructor(message: string) {
    super(ErrorCode.CliUsage, message);
  }
}
