/* Opens /dev/null until open(2) fails with EMFILE, keeps every descriptor, then keeps trying every 20 ms: a
 * descriptor leak that has reached RLIMIT_NOFILE. */
#include <fcntl.h>
#include <unistd.h>

int main(void) {
  for (;;) {
    if (open("/dev/null", O_RDONLY) < 0) usleep(20000);
  }
}
