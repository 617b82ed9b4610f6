/**
 * Something a process started and stops on the way out. In a file of its own because both the runtime, which
 * stops them, and the embedded servers it starts (entry/embedded-services.ts) need it, and runtime.ts imports
 * embedded-services.ts: the type in either would make an import cycle.
 */
export interface Stoppable {
  name: string;
  stop(): Promise<void>;
}
