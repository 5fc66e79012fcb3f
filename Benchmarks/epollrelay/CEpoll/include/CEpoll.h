// The epoll and eventfd interfaces for EpollRelay and ChannelRelay: Swift's Glibc module does
// not export <sys/epoll.h> or <sys/eventfd.h>.
#include <sys/epoll.h>
#include <sys/eventfd.h>
