# gatehouse container image. Two stages on the same pinned Node 24 LTS base:
# build compiles TypeScript with the dev dependencies; runtime holds production dependencies and the compiled
# output only, runs as the unprivileged `node` user and writes nothing outside /tmp, so it runs with a
# read-only root filesystem. .ci/runtime-stage.sh proves what the runtime stage holds (no Docker engine in CI).
#
# Config: the image's config/gatehouse.yaml reads everything from GATEHOUSE_* environment variables
# (GATEHOUSE_SSO_ISSUER, GATEHOUSE_SSO_CLIENT_SECRET, ...), or mount a file and pass
# `start --config /etc/gatehouse/gatehouse.yaml` (see config/kubernetes/sidecar.yaml).

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production
# V8's young generation held to 16 MiB semi-spaces, whatever memory the container sees: the size the benchmarks in
# bench/ are measured with. Node 24's own choice on a 24 GiB host was 64 MiB: about 140 MiB more RSS with 100,000
# sessions, and a flood of unauthenticated requests growing RSS by 55 MiB instead of 12, for 1-3 % more throughput
# (docs/performance.md, "Node 24"). Keep this flag when you set NODE_OPTIONS yourself.
ENV NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force && rm -rf /root/.npm /tmp/*
# .git is not in the image: `docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD)` records the commit that
# `gatehouse version` and gatehouse_build_info report (package.json gitHead, as npm sets it for a published package).
ARG GIT_COMMIT=""
RUN if [ -n "$GIT_COMMIT" ]; then npm pkg set "gitHead=$GIT_COMMIT"; fi
COPY --from=build /src/dist/src ./dist/src
COPY config ./config
COPY docker/healthcheck.js ./docker/healthcheck.js
USER node
EXPOSE 8080 9090
# docker/healthcheck.js finds the ops port in the config PID 1 was started with (its --config file, else
# config/gatehouse.yaml, and its GATEHOUSE_* variables, read from /proc/1), so a mounted config is honoured.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 CMD ["node", "docker/healthcheck.js"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["start"]
