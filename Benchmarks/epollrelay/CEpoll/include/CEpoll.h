// The epoll interface for EpollRelay: Swift's Glibc module does not export <sys/epoll.h>.
#include <sys/epoll.h>
