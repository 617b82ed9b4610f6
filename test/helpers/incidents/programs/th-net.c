/*
 * One small TCP program for the incident benchmark, installed under several names so the comm in a capture says
 * which role a process plays (the kernel names a process after its executable):
 *   th-connector HOST PORT   connects over and over, keeping what connects (so a never-accepting listener's queue
 *                            fills) and closing what fails (ECONNREFUSED, ETIMEDOUT), 20 ms apart
 *   th-listener  HOST PORT   listens with a backlog of 1 and never accepts
 *   th-sink      HOST PORT   accepts one connection at a time and discards what it reads
 *   th-sender    HOST PORT   connects and writes as fast as the connection takes it, reconnecting when it breaks
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in address(const char *host, const char *port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(port));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "bad address %s\n", host);
    exit(2);
  }
  return a;
}

static int listening(struct sockaddr_in a, int backlog) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, backlog) != 0) {
    perror("listen");
    exit(1);
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
    return 2;
  }
  const char *role = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  struct sockaddr_in a = address(argv[1], argv[2]);
  static char buf[65536];
  if (strcmp(role, "th-listener") == 0) {
    listening(a, 1);
    for (;;) pause();
  }
  if (strcmp(role, "th-sink") == 0) {
    int s = listening(a, 16);
    for (;;) {
      int c = accept(s, NULL, NULL);
      if (c < 0) continue;
      while (read(c, buf, sizeof buf) > 0) {
      }
      close(c);
    }
  }
  if (strcmp(role, "th-sender") == 0) {
    memset(buf, 'x', sizeof buf);
    for (;;) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
        while (write(s, buf, sizeof buf) > 0) {
        }
      }
      close(s);
      usleep(100000);
    }
  }
  if (strcmp(role, "th-connector") == 0) {
    for (;;) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) close(s); /* a connected socket stays open: it holds its place in the queue */
      usleep(20000);
    }
  }
  fprintf(stderr, "unknown role %s\n", role);
  return 2;
}
