# syntax=docker/dockerfile:1
# One image for every part of Xeno (serve, worker, migrate, demo) with the dashboard built in.
#   docker build -t xeno .
#   docker compose up            (see docker-compose.yml)

# The dashboard's static build.
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# cargo-chef splits the build so dependencies are a cached layer of their own: it is rebuilt
# when Cargo.lock or a manifest changes, not on every change to Xeno's code.
FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS plan
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=plan /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin xeno

# Runtime: no shell, no package manager, a non-root user. TLS roots are compiled in
# (rustls with webpki roots), so no CA bundle is needed.
FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /src/target/release/xeno /usr/local/bin/xeno
COPY --from=web /src/web/dist /app/web/dist
# Platforms that assign the port (Railway) set PORT; XENO_BIND, when set, takes precedence.
ENV PORT=8080 \
    XENO_WEB_DIR=/app/web/dist \
    XENO_LOG_FORMAT=json
EXPOSE 8080
# distroless's nonroot user, by number so the host can tell it is not root.
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/xeno", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/xeno"]
CMD ["all"]
