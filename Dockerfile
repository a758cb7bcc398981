# Multi-stage build of the node daemon image. (No Docker engine runs on the dev machines; this is what
# the DaemonSet image is built from in a real pipeline.)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
# Self-contained and trimmed (src/Ztunnel/Ztunnel.csproj): the same build `make publish` makes and the tests run.
RUN dotnet publish src/Ztunnel/Ztunnel.csproj -c Release -r linux-x64 -o /out

# No .NET runtime in the image: the publish carries its own trimmed copy; runtime-deps has glibc and OpenSSL.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /app
ENTRYPOINT ["/app/ztunnel"]
CMD ["run", "--config", "/etc/ztunnel/config.yaml"]
