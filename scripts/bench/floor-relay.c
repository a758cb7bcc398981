// The bench's "floor" scenario: the least a daemon can do on Ztunnel's capture path. It listens where the
// daemon listens inside a pod (15001 outbound behind the nat REDIRECT, 15008 inbound), marks its sockets
// with the daemon's mark, and connects to the app from the client's address (IP_TRANSPARENT), so every
// packet takes the same legs, rules, conntrack and NAT as with the daemon. It does no TLS and no HTTP/2:
// the outbound side sends the original destination port (2 bytes) and then relays plain bytes. What the
// floor adds over the direct path is what in-pod capture costs in the kernel, with next to no user space.
//
//   floor-relay out <listen-port> <tunnel-port>   (client pod: connect to the original destination's IP)
//   floor-relay in <listen-port>                  (server pod: connect to the app as the client)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { DaemonMark = 0x539, BufferSize = 65536 };

static int tunnel_port;
static int outbound;

static void die(const char *what) { perror(what); exit(1); }

static int marked_socket(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, mark = DaemonMark;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) die("socket");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static int write_all(int fd, const char *p, ssize_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, (size_t)n, MSG_NOSIGNAL);   // a closed peer is an error, not SIGPIPE
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    p += w; n -= w;
  }
  return 0;
}

// Relays both ways until both ends finished sending; a FIN is passed on as shutdown(SHUT_WR). An error on
// either socket ends both directions (the caller closes both), so nothing stays half-open.
static void relay(int a, int b) {
  char *buffer = malloc(BufferSize);
  struct pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  int open = 2;
  while (buffer != NULL && open > 0) {
    if (poll(fds, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int to = i == 0 ? b : a;
      ssize_t n = read(fds[i].fd, buffer, BufferSize);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || (n > 0 && write_all(to, buffer, n) < 0)) { free(buffer); return; }
      if (n == 0) { shutdown(to, SHUT_WR); fds[i].fd = -1; open--; }
    }
  }
  free(buffer);
}

static void *serve(void *arg) {
  int client = (int)(intptr_t)arg, upstream = marked_socket(), one = 1;
  struct sockaddr_in target, local, peer;
  socklen_t len = sizeof target;
  uint16_t port;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (outbound) {
    // The app's destination before the REDIRECT; the tunnel goes to that IP's inbound port.
    if (getsockopt(client, SOL_IP, SO_ORIGINAL_DST, &target, &len) < 0) goto done;
    port = target.sin_port;
    target.sin_port = htons((uint16_t)tunnel_port);
    if (connect(upstream, (struct sockaddr *)&target, sizeof target) < 0) goto done;
    if (write_all(upstream, (const char *)&port, sizeof port) < 0) goto done;
  } else {
    // The app is this pod's address (where the tunnel arrived), reached from the client's address.
    len = sizeof local; getsockname(client, (struct sockaddr *)&local, &len);
    len = sizeof peer; getpeername(client, (struct sockaddr *)&peer, &len);
    if (recv(client, &port, sizeof port, MSG_WAITALL) != sizeof port) goto done;
    peer.sin_port = 0;
    if (setsockopt(upstream, SOL_IP, IP_TRANSPARENT, &one, sizeof one) < 0) goto done;
    if (bind(upstream, (struct sockaddr *)&peer, sizeof peer) < 0) goto done;
    local.sin_port = port;
    if (connect(upstream, (struct sockaddr *)&local, sizeof local) < 0) goto done;
  }
  relay(client, upstream);
done:
  close(upstream);
  close(client);
  return NULL;
}

int main(int argc, char **argv) {
  outbound = argc > 1 && strcmp(argv[1], "out") == 0;
  if (argc != (outbound ? 4 : 3) || (!outbound && strcmp(argv[1], "in") != 0)) {
    fprintf(stderr, "usage: floor-relay out <listen-port> <tunnel-port> | in <listen-port>\n");
    return 2;
  }
  if (outbound) tunnel_port = atoi(argv[3]);
  int listener = marked_socket(), one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  if (bind(listener, (struct sockaddr *)&any, sizeof any) < 0 || listen(listener, 4096) < 0) die("listen");
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int client = accept(listener, NULL, NULL);
    // Out of descriptors is fatal, not retried: a retry loop would spin on the CPU being measured, and the
    // bench stops with this log when a proxy exits.
    if (client < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; die("accept"); }
    pthread_t thread;
    if (pthread_create(&thread, &attr, serve, (void *)(intptr_t)client) != 0) close(client);
  }
}
