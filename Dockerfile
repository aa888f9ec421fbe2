# One image for the five services. The service is chosen by the command, never by a shell
# wrapper, so that SIGTERM reaches Node directly (graceful BullMQ shutdown):
#   docker compose: command: ["node", "services/<name>/dist/main.js"]   (with init: true)
#   kubernetes:     command: ["node", "services/<name>/dist/main.js"]
# Build: docker build -t cityflow/app:local .

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
# build: full dependency tree (TypeScript, types) and `npm run build` (tsc -b tsconfig.build.json)
# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Manifests first, so the dependency layer is reused until a package.json or the lock changes.
COPY package.json package-lock.json ./
COPY libs/contracts/package.json libs/contracts/
COPY libs/domain/package.json libs/domain/
COPY libs/common/package.json libs/common/
COPY libs/testing/package.json libs/testing/
COPY services/ingestor/package.json services/ingestor/
COPY services/chunker/package.json services/chunker/
COPY services/processor/package.json services/processor/
COPY services/reporter/package.json services/reporter/
COPY services/api/package.json services/api/
# --ignore-scripts: nothing here needs an install script (native add-ons ship prebuilt as
# optional packages), and skipping them keeps the build free of third-party code execution.
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.base.json tsconfig.build.json ./
COPY libs ./libs
COPY services ./services
RUN npm run build

# Everything the services need at run time, without node_modules: compiled dist/ plus any
# static assets kept beside it. Assembled here so the runtime stage copies one tree.
RUN mkdir -p /out \
 && tar -cf - --exclude=node_modules --exclude='*.tsbuildinfo' libs services | tar -xf - -C /out

# ---------------------------------------------------------------------------------------------
# runtime: production dependencies only, non-root
# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Heap bounds of every service (SERVICE_NODE_OPTIONS in libs/common, also used by scripts/lib/stack.js): the
# working set is small (one 8 MiB block, one day's merge), and a capped heap keeps each process's
# resident memory under 256 MiB instead of letting V8 grow it to the host's size.
ENV NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=8"
WORKDIR /app

COPY package.json package-lock.json ./
COPY libs/contracts/package.json libs/contracts/
COPY libs/domain/package.json libs/domain/
COPY libs/common/package.json libs/common/
COPY libs/testing/package.json libs/testing/
COPY services/ingestor/package.json services/ingestor/
COPY services/chunker/package.json services/chunker/
COPY services/processor/package.json services/processor/
COPY services/reporter/package.json services/reporter/
COPY services/api/package.json services/api/
# Workspaces are linked from node_modules/@cityflow/* to libs/* and services/*.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# Code stays owned by root: the app user can read it, not change it.
COPY --from=build /out/ ./

# /data is the shared volume (raw inputs, metrics, reports). Created here, owned by the app
# user, so a fresh named volume mounted on it inherits that ownership.
RUN mkdir -p /data/raw /data/output /data/s3_cache && chown -R node:node /data
ENV DATA_DIR_RAW=/data/raw \
    OUTPUT_DIR=/data/output \
    S3_CACHE_DIR=/data/s3_cache

# The node image's unprivileged user (uid 1000).
USER node

# Only the api listens (API_PORT, 5001 in the container); the workers have no port.
EXPOSE 5001
