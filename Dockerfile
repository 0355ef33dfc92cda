# syntax=docker/dockerfile:1
#
# Signpost container image: a static Go binary on a distroless, nonroot base.
#
#   docker build -t signpost .                                  # plain image
#   docker build --build-arg UPX=1 -t signpost:upx .            # UPX-packed binary
#   docker buildx build --platform linux/amd64,linux/arm64 \
#       --build-arg VERSION=v1.2.3 -t REGISTRY/signpost:v1.2.3 --push .
#
# Base images are build arguments so that an air-gapped builder can point at
# a mirror. docs/container.md explains every choice made here.

ARG GO_IMAGE=golang:1.26-alpine
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot
ARG UPX_IMAGE=alpine:3.22
# UPX=1 packs the binary with `upx --best --lzma`; 0 (the default) ships it as built.
ARG UPX=0

# ---- build: cross-compiles on the builder's own platform ------------------
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS
ARG TARGETARCH
# Empty means the Go default; a mirror or an offline builder passes its own.
ARG GOPROXY
WORKDIR /src
# Modules first, so that a source change does not invalidate this layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
ARG DATE=unknown
# The cache mounts keep the module and build caches between builds, so a
# one-line change recompiles one package instead of the whole tree.
# /out/data becomes /data, owned by the nonroot user (the runtime image has
# no shell to create it).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w \
        -X github.com/signpost-go/signpost/internal/buildinfo.Version=${VERSION} \
        -X github.com/signpost-go/signpost/internal/buildinfo.Revision=${REVISION} \
        -X github.com/signpost-go/signpost/internal/buildinfo.Date=${DATE}" \
      -o /out/signpost ./cmd/signpost \
 && mkdir -p /out/data

# ---- upx: optional packing, also on the builder's platform -----------------
# Alpine packages upx; an image that already has it (an offline stand-in)
# skips the install.
FROM --platform=$BUILDPLATFORM ${UPX_IMAGE} AS upx
RUN command -v upx >/dev/null || apk add --no-cache upx
COPY --from=build /out/ /out/
RUN upx --best --lzma /out/signpost && upx -t /out/signpost

# BuildKit builds only the stage that `binary` names, so UPX=0 never runs upx.
FROM build AS binary-0
FROM upx AS binary-1
FROM binary-${UPX} AS binary

# ---- runtime: the binary and nothing else ----------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG DATE=unknown
LABEL org.opencontainers.image.title="signpost" \
      org.opencontainers.image.description="go/links service: short names that redirect to long URLs" \
      org.opencontainers.image.source="https://github.com/signpost-go/signpost" \
      org.opencontainers.image.url="https://github.com/signpost-go/signpost" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${DATE}"
COPY --from=binary /out/signpost /signpost
COPY --from=binary --chown=65532:65532 /out/data /data
# distroless' nonroot user; numeric so that it works on bases without /etc/passwd.
USER 65532:65532
ENV DATABASE_URL=sqlite:/data/signpost.db
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/signpost", "healthcheck"]
ENTRYPOINT ["/signpost"]
CMD ["serve"]
