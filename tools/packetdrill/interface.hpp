// The table of calls packetdrill's --so_filename mode takes from a shared object, declared here
// member for member in the order packetdrill's packetdrill.h gives them (that order is the ABI:
// packetdrill calls through these pointers). packetdrill itself is not part of dtcp.
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

extern "C" {

struct packetdrill_interface {
  void* userdata;
  void (*free)(void* userdata);
  int (*socket)(void* userdata, int domain, int type, int protocol);
  int (*bind)(void* userdata, int fd, const sockaddr* addr, socklen_t len);
  int (*listen)(void* userdata, int fd, int backlog);
  int (*accept)(void* userdata, int fd, sockaddr* addr, socklen_t* len);
  int (*connect)(void* userdata, int fd, const sockaddr* addr, socklen_t len);
  ssize_t (*read)(void* userdata, int fd, void* buf, size_t count);
  ssize_t (*readv)(void* userdata, int fd, const iovec* iov, int iovcnt);
  ssize_t (*recv)(void* userdata, int fd, void* buf, size_t len, int flags);
  ssize_t (*recvfrom)(void* userdata, int fd, void* buf, size_t len, int flags, sockaddr* src, socklen_t* src_len);
  ssize_t (*recvmsg)(void* userdata, int fd, msghdr* msg, int flags);
  ssize_t (*write)(void* userdata, int fd, const void* buf, size_t count);
  ssize_t (*writev)(void* userdata, int fd, const iovec* iov, int iovcnt);
  ssize_t (*send)(void* userdata, int fd, const void* buf, size_t len, int flags);
  ssize_t (*sendto)(void* userdata, int fd, const void* buf, size_t len, int flags, const sockaddr* dst, socklen_t dst_len);
  ssize_t (*sendmsg)(void* userdata, int fd, const msghdr* msg, int flags);
  int (*fcntl)(void* userdata, int fd, int cmd, ...);
  int (*ioctl)(void* userdata, int fd, unsigned long request, ...);
  int (*close)(void* userdata, int fd);
  int (*shutdown)(void* userdata, int fd, int how);
  int (*getsockopt)(void* userdata, int fd, int level, int name, void* value, socklen_t* len);
  int (*setsockopt)(void* userdata, int fd, int level, int name, const void* value, socklen_t len);
  int (*poll)(void* userdata, pollfd* fds, nfds_t nfds, int timeout);
  // An IP packet (no link-layer header) for the stack; 0 or -1.
  int (*netdev_send)(void* userdata, const void* buf, size_t count);
  // The next IP packet the stack sent, into buf (*count: its size in, the packet's out, 0 for
  // none) with its time in microseconds on gettimeofday's clock; 0 or -1 (-1: asked again).
  int (*netdev_receive)(void* userdata, void* buf, size_t* count, long long* time_usecs);
  int (*usleep)(void* userdata, useconds_t usec);
  int (*gettimeofday)(void* userdata, timeval* tv, struct timezone* tz);
  int (*epoll_create)(void* userdata, int size);
  int (*epoll_ctl)(void* userdata, int epfd, int op, int fd, epoll_event* event);
  int (*epoll_wait)(void* userdata, int epfd, epoll_event* events, int maxevents, int timeout);
  int (*pipe)(void* userdata, int fds[2]);
  int (*splice)(void* userdata, int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, size_t len, unsigned int flags);
};

}  // extern "C"
