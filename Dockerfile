# Multi-stage build: a static binary on a minimal, non-root base image.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The version comes from the VERSION file, as with `make build`; the revision cannot (.git is
# not sent, see .dockerignore): `make docker` passes it, e.g.
#   docker build --build-arg REVISION=$(git rev-parse HEAD) -t pop_exporter:v$(cat VERSION) .
ARG REVISION=unknown
ARG BRANCH=unknown
RUN VPKG=github.com/prometheus/common/version \
 && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X ${VPKG}.Version=$(cat VERSION) -X ${VPKG}.Revision=${REVISION} -X ${VPKG}.Branch=${BRANCH} -X ${VPKG}.BuildUser=docker -X ${VPKG}.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)" \
      -o /out/pop_exporter ./cmd/pop_exporter \
 && CGO_ENABLED=0 go build -trimpath -o /out/cdnsim ./cmd/cdnsim

# distroless/static: CA certificates for probing HTTPS, a nonroot user (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pop_exporter /bin/pop_exporter
COPY --from=build /out/cdnsim /bin/cdnsim
# The default config path; it holds the embedded default until a real config is mounted over it.
COPY config/default.yml /etc/pop_exporter/config.yml
USER 65532:65532
EXPOSE 9853
ENTRYPOINT ["/bin/pop_exporter"]
CMD ["--config.file=/etc/pop_exporter/config.yml"]
