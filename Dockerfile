# syntax=docker/dockerfile:1
# The connector as a container image, with the offline engine (Debian's pocketsphinx) included.
#
#   docker build -t audiohook-connector .
#   docker run --rm -p 8080:8080 --env-file .env --stop-timeout 330 audiohook-connector
#
# The build stage compiles the TypeScript and keeps only the production dependencies; the runtime
# stage gets package.json, package-lock.json, those node_modules/ and dist/ — no sources, no npm
# install, no compiler. tini (Debian's) is PID 1: it passes SIGTERM on to node, which drains live
# calls for SHUTDOWN_GRACE_SECONDS, and it reaps the pocketsphinx child processes, so `docker run`
# needs no `--init`. Give `docker stop` (default 10 s) and orchestrators more time than
# SHUTDOWN_GRACE_SECONDS plus CLOSE_FLUSH_TIMEOUT_MS, or calls are cut instead of drained.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first: a source change does not reinstall them. --ignore-scripts because `prepare`
# (= the build) cannot run before src/ is here; no dependency needs its install script: bufferutil
# (optional, native) loads its prebuilt linux-x64 binary at run time — on other architectures `ws`
# runs without it — and protobufjs' postinstall only checks versions.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
# The offline engine (`local`: pocketsphinx_batch 0.8 and its US English model), the offline
# speech synthesizer for voice bots (flite) and tini.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pocketsphinx pocketsphinx-en-us flite tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production PORT=8080
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Files stay owned by root (read-only to the server); the server runs as the image's `node` user
# (uid 1000). It writes only FIFOs for pocketsphinx under /tmp.
USER node
EXPOSE 8080
# Liveness from inside the container, with node itself (the slim image has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server/main.js"]
