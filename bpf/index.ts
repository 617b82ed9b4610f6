import { profile } from './profile/manifest.ts';
import { syscount } from './syscount/manifest.ts';
import type { CaptureTool } from './tool.ts';

/** Every capture tool the agent can run, by name. A tool is only reachable through this registry. */
export const tools: Readonly<Record<string, CaptureTool>> = {
  [syscount.name]: syscount,
  [profile.name]: profile,
};

export function getTool(name: string): CaptureTool | undefined {
  return Object.hasOwn(tools, name) ? tools[name] : undefined;
}
