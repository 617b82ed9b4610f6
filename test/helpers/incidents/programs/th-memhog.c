/* Allocates and touches 1 MiB at a time until the memory cgroup's limit makes the OOM killer end it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  for (;;) {
    char *p = malloc(1 << 20);
    if (p) memset(p, 1, 1 << 20);
    usleep(2000);
  }
}
