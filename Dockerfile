# syntax=docker/dockerfile:1
# faultline's two images, from one build:
#
#   docker build --target service -t registry.gitlab.example.org/platform/faultline/faultline:0.1.0 .
#   docker build --target agent   -t registry.gitlab.example.org/platform/faultline/faultline-agent:0.1.0 .
#
# The repositories and tag are the Helm chart's defaults (deploy/faultline/values.yaml,
# Chart.yaml appVersion = the workspace version); tests/peers/helm_chart.py checks that
# they, the targets and the paths copied here agree.

# ---- build: both binaries, as they ship (build-support/dist.sh: static-pie, fat LTO) ----
# The toolchain is pinned to the one build-support/order/faultline.txt was profiled with:
# symbol names carry a hash of the compiler's version, and a function order naming other
# symbols is skipped (the image then works, with about 6 MiB more code resident per run).
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# dist.sh re-profiles a stale order file by itself on a developer's machine; the image
# build has no valgrind and may not run experiments, so it links with the committed file
# (kept fresh by the dist.sh run that goes with each change) and only warns if it is stale.
ENV FAULTLINE_NO_REPROFILE=1
# The cache mounts keep the registry and target/ between builds; the binaries are copied
# out in the same step because a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    build-support/dist.sh \
    && install -D -m 0755 target/dist/faultline /out/faultline \
    && install -D -m 0755 target/dist/faultline-agent /out/faultline-agent

# ---- the service: unprivileged -------------------------------------------------------------
FROM debian:bookworm-slim AS service
# ca-certificates: TLS to Prometheus, Grafana, Slack, SMTP and the API server use the
# system roots.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# uid/gid 65532 (the distroless "nonroot" id): the chart's runAsUser and fsGroup.
RUN groupadd --gid 65532 faultline \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /var/lib/faultline \
       --shell /usr/sbin/nologin faultline \
    && install -d -o 65532 -g 65532 -m 0750 /var/lib/faultline
COPY --from=builder /out/faultline /usr/local/bin/faultline
USER 65532:65532
WORKDIR /var/lib/faultline
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/faultline"]
CMD ["serve", "--help"]

# ---- the node agent: root, by necessity ----------------------------------------------------
FROM debian:bookworm-slim AS agent
# nftables: the networkPartition fault runs `nft` inside the target's network namespace.
# kmod: modprobe is the agent's fallback when the kernel cannot decompress a module itself
# (finit_module with MODULE_INIT_COMPRESSED_FILE needs Linux >= 5.17; RHEL 9's 5.14 ships
# xz-compressed modules). Qdiscs go over netlink, so no iproute2.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nftables kmod \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /out/faultline-agent /usr/local/bin/faultline-agent
# Joining other pods' namespaces, writing their cgroups and loading sch_netem need root
# (and the DaemonSet's privileged: true).
USER 0:0
EXPOSE 7150
ENTRYPOINT ["/usr/local/bin/faultline-agent"]
