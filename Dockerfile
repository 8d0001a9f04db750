# syntax=docker/dockerfile:1
# Build stage: full dependencies, compile TypeScript to dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The build copies the console's static page into dist/ with this script.
COPY scripts/copy-console-assets.mjs ./scripts/
# Compile, then drop the development packages (typescript, pino-pretty, the bench baseline):
# the runtime stage copies this node_modules as it is, so the image installs nothing twice.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: production dependencies only, non-root, node as PID 1's direct child via tini.
FROM node:24-bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    HERALD_HOST=0.0.0.0 \
    HERALD_METRICS_HOST=0.0.0.0 \
    HERALD_LOG_FORMAT=json
COPY package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY schema ./schema
COPY config/herald.example.yaml ./config/herald.example.yaml
USER node
EXPOSE 6001 9601
# `herald health` reads the configuration as `start` does (HERALD_CONFIG's file, HERALD_HOST,
# HERALD_PORT), so the probe follows the port the daemon listens on wherever it was set.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "dist/src/cli/main.js", "health"]
# tini forwards SIGTERM to node and reaps children; node runs the CLI directly (no npm wrapper that would swallow signals).
# --max-semi-space-size=64, as npm start: on Node 20 a young generation that outlives a notification in progress (docs/performance.md).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--max-semi-space-size=64", "dist/src/cli/main.js", "start"]
