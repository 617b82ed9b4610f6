/**
 * Linux signal numbers (x86_64 and arm64; asm-generic/signal.h), for routing: "SIGKILL", "signal 9", "kill -9" and
 * "exit code 137" (128 + 9, how shells and container runtimes report a death by signal) all name the same event.
 */
const SIGNALS: ReadonlyMap<string, number> = new Map([
  ['SIGHUP', 1], ['SIGINT', 2], ['SIGQUIT', 3], ['SIGILL', 4], ['SIGTRAP', 5], ['SIGABRT', 6], ['SIGBUS', 7],
  ['SIGFPE', 8], ['SIGKILL', 9], ['SIGUSR1', 10], ['SIGSEGV', 11], ['SIGUSR2', 12], ['SIGPIPE', 13], ['SIGALRM', 14],
  ['SIGTERM', 15], ['SIGSTKFLT', 16], ['SIGCHLD', 17], ['SIGCONT', 18], ['SIGSTOP', 19], ['SIGTSTP', 20],
  ['SIGTTIN', 21], ['SIGTTOU', 22], ['SIGURG', 23], ['SIGXCPU', 24], ['SIGXFSZ', 25], ['SIGVTALRM', 26],
  ['SIGPROF', 27], ['SIGWINCH', 28], ['SIGIO', 29], ['SIGPWR', 30], ['SIGSYS', 31],
]);

/** The number of a signal name ("SIGKILL" or "KILL", any case); undefined when unknown. */
export function signalNumber(name: string): number | undefined {
  const upper = name.toUpperCase();
  return SIGNALS.get(upper.startsWith('SIG') ? upper : `SIG${upper}`);
}

/** A shell's or container runtime's exit status for a process killed by signal `n`. */
export const exitCodeOfSignal = (n: number) => 128 + n;
