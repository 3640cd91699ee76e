# syntax=docker/dockerfile:1
# Postern for production: Node 24 runs the TypeScript sources directly (type stripping), so the
# image holds the production dependencies and the sources, nothing built.

FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# exact versions from the lockfile; install scripts only for the packages in allowScripts (argon2)
RUN npm ci --omit=dev --no-audit --no-fund --strict-allow-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    POSTERN_DATA_DIR=/data
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY views ./views
# only for the embedded database (no DATABASE_URL): a volume the non-root user owns
RUN mkdir /data && chown node:node /data && chmod 700 /data
USER node
EXPOSE 3000
# SIGTERM drains (POSTERN_SHUTDOWN_DELAY + POSTERN_SHUTDOWN_TIMEOUT, 28 s by default): give it 30 s
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "src/main.ts"]
