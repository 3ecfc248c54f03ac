# syntax=docker/dockerfile:1.7
#
# One image per example server, chosen by a build argument:
#
#   docker build --build-arg BIN=crm-mcp  -t mcp-crm .       # package crm-example
#   docker build --build-arg BIN=customer -t mcp-customer .  # package customer
#   docker build --build-arg BIN=iam-mcp  -t mcp-iam .       # package iam-example
#   docker build --build-arg BIN=agent-mcp -t mcp-agent .    # package agent-example (also sql-mcp, jira-mcp)
#
# Every image serves HTTP on port 8080 (MCP at /mcp, probes at /health and
# /ready), runs as uid 65532, keeps its data in the /data volume and works
# with a read-only root filesystem. See docs/deployment.md.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-trixie AS build
ARG RUST_VERSION
ARG BIN=crm-mcp
# rust-toolchain.toml pins this release together with rustfmt and clippy;
# naming the toolchain here keeps rustup from downloading those components,
# which a release build does not use. The image needs no symbols.
ENV RUSTUP_TOOLCHAIN=${RUST_VERSION} \
    CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_TERM_COLOR=never
WORKDIR /src
COPY . .
# The crates.io registry, git checkouts and target/ live in BuildKit cache
# mounts, so a rebuild after a source change recompiles the workspace crates
# and not the dependencies. A cache mount is not part of the image layer, so
# the binary is copied out to /out.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    set -eu; \
    case "$BIN" in \
        crm-mcp) package=crm-example ;; \
        customer) package=customer ;; \
        iam-mcp) package=iam-example ;; \
        sql-mcp) package=sql-jira-example ;; \
        jira-mcp) package=sql-jira-example ;; \
        agent-mcp) package=agent-example ;; \
        *) echo "unknown BIN '$BIN': use crm-mcp, customer, iam-mcp, sql-mcp, jira-mcp or agent-mcp" >&2; exit 1 ;; \
    esac; \
    cargo build --release --locked -p "$package" --bin "$BIN"; \
    install -D -m 0755 "target/release/$BIN" /out/server; \
    rustc --edition 2024 -C opt-level=s -C strip=symbols -C panic=abort \
        -o /out/healthcheck deploy/docker/healthcheck.rs; \
    install -d -m 0750 /out/data

# distroless/cc: glibc, libgcc and CA certificates (the job-search server
# calls JSearch over TLS) and nothing else: no shell, no package manager, no
# curl. The HEALTHCHECK therefore runs deploy/docker/healthcheck.rs, a
# std-only Rust program built above, rather than curl in a bigger image.
FROM gcr.io/distroless/cc-debian13:nonroot
ARG BIN=crm-mcp
LABEL org.opencontainers.image.title="${BIN}" \
      org.opencontainers.image.description="MCP server ${BIN} from the mcp-server workspace" \
      org.opencontainers.image.source="https://github.com/mcp-rs/mcp-server" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
COPY --from=build /out/server /usr/local/bin/server
COPY --from=build /out/healthcheck /usr/local/bin/healthcheck
COPY --from=build --chown=65532:65532 /out/data /data
# agent-mcp's workspace (AGENT_WORKSPACE in docker-compose.yml): a volume
# mounted here starts out owned by the server's user.
COPY --from=build --chown=65532:65532 /out/data /workspace
# HOST=0.0.0.0 is set here only: outside a container every binary still
# defaults to 127.0.0.1. Each binary reads only its own data variable
# (DATABASE_URL for crm-mcp, DB_PATH for customer, IAM_DATA_ROOT for
# iam-mcp); all of them point into /data. SQLite puts the temporary files it
# may need there too, so no writable /tmp is required.
#
# GLIBC_TUNABLES: an allocation of 1 MiB or more gets a mapping of its own
# and goes back to the system when freed (mmap_threshold), and malloc asks
# for transparent huge pages (hugetlb=1), which keeps the page faults of
# those fresh mappings as cheap as reusing memory. With glibc's defaults a
# large message's buffers stay in the allocator's per-thread arenas after
# the call: an 8 MiB echo raises the resident set by 50-75 MiB, against
# about 26 MiB with these settings, at the same speed and idle size
# (docs/performance.md, "Large bodies").
ENV MCP_TRANSPORT=http \
    HOST=0.0.0.0 \
    PORT=8080 \
    LOG_FORMAT=json \
    LOG_LEVEL=info \
    DATABASE_URL=sqlite:///data/crm.db \
    DB_PATH=/data/customers.db \
    IAM_DATA_ROOT=/data/iam \
    SQLITE_TMPDIR=/data \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576
WORKDIR /data
VOLUME ["/data"]
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/healthcheck", "/health"]
# The servers drain on SIGTERM (/ready answers 503 for MCP_SHUTDOWN_GRACE,
# 5 s, then in-flight requests get up to MCP_SHUTDOWN_DEADLINE, 10 s), and
# the exec-form ENTRYPOINT makes the server PID 1, so the signal reaches it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/server"]
