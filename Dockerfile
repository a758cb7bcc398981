# Multi-stage build of the node daemon image. (No Docker engine runs on the dev machines; this is what
# the DaemonSet image is built from in a real pipeline.)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Ztunnel/Ztunnel.csproj -c Release -o /out

# The base runtime is enough: the daemon uses no ASP.NET Core (its HTTP/2 and HTTP/1.1 servers are its own).
FROM mcr.microsoft.com/dotnet/runtime:10.0
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /app
ENTRYPOINT ["/app/ztunnel"]
CMD ["run", "--config", "/etc/ztunnel/config.yaml"]
