# Multi-stage build of the node daemon image. (No Docker engine runs on the dev machines; this is what
# the DaemonSet image is built from in a real pipeline.)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
# One NativeAOT executable (src/Ztunnel/Ztunnel.csproj), the same build `make publish` makes and the tests run.
# NativeAOT links with the system's C toolchain and zlib.
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
RUN scripts/publish.sh /out

# No .NET runtime in the image: the executable has it linked in; runtime-deps has glibc and OpenSSL.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ztunnel /app/ztunnel
ENTRYPOINT ["/app/ztunnel"]
CMD ["run", "--config", "/etc/ztunnel/config.yaml"]
