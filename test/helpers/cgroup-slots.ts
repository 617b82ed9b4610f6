/** The seven extra cgroup slots of a scope with at most one cgroup: unused, so 0. */
export const NO_MORE_CGROUPS = ['0', '0', '0', '0', '0', '0', '0'];

/** A full set of cgroup ids that no task has: the program loads with every comparison and matches nothing. */
export const UNUSED_CGROUPS = { cgroupIds: [999999992, 999999993, 999999994, 999999995, 999999996, 999999997, 999999998, 999999999], pid: 0 };
