// The public API stands on its own (issue #13 part 4): this file and the *_alone.cpp files are
// compiled with only include/ on the include path (see meson.build), so any public header that
// reaches a header under src/ fails the build, and Stack must not name internal types.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "dtcp/address.hpp"
#include "dtcp/config.hpp"
#include "dtcp/runtime.hpp"
#include "dtcp/sockets.hpp"
#include "dtcp/tcp.hpp"
#include "dtcp/time.hpp"

namespace {

// Stack exposes no internal types: the network layer and its counters stay inside the runtime.
template <class S>
concept ExposesInterface = requires(S& s) { s.interface(); };
template <class S>
concept ExposesNetCounters = requires(const S& s) { s.net_counters(); };
static_assert(!ExposesInterface<dtcp::Stack>, "Stack::interface() hands out an internal type");
static_assert(!ExposesNetCounters<dtcp::Stack>, "Stack::net_counters() hands out an internal type");

TEST(PublicApi, EndpointsOfBothFamiliesRoundTripThroughText) {
  const auto v4 = dtcp::Endpoint::parse("198.18.0.1:80");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->port, 80);
  EXPECT_EQ(v4->to_string(), "198.18.0.1:80");
  const auto v6 = dtcp::Endpoint::parse("[2001:db8::1]:443");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->addr.family(), dtcp::wire::IpFamily::v6);
  EXPECT_EQ(v6->to_string(), "[2001:db8::1]:443");
  EXPECT_FALSE(dtcp::Endpoint::parse("2001:db8::1:443").has_value()) << "IPv6 with a port needs brackets";
}

TEST(PublicApi, LinksAgainstTheLibrariesAlone) {
  EXPECT_STREQ(dtcp::to_string(dtcp::TcpState::established), "ESTABLISHED");
  const dtcp::TcpFootprint footprint = dtcp::tcp_footprint(dtcp::TcpConfig{});
  EXPECT_GT(footprint.per_connection, footprint.control_block);
  EXPECT_GT(footprint.total(), 0u);
  const dtcp::Duration rto = dtcp::TcpConfig::linux_profile().min_rto;
  EXPECT_EQ(rto, std::chrono::milliseconds(200));
}

// The sockets layer works before any runtime exists as far as the table goes: numbers, errno.
TEST(PublicApi, SocketsTableAloneGivesPosixErrors) {
  dtcp::Sockets sockets(dtcp::Sockets::Options{.max_sockets = 2, .port = ""});
  const int a = sockets.socket(AF_INET, SOCK_STREAM, 0);
  const int b = sockets.socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 4);
  errno = 0;
  EXPECT_EQ(sockets.socket(AF_INET, SOCK_STREAM, 0), -1);
  EXPECT_EQ(errno, EMFILE);
  EXPECT_EQ(sockets.socket(AF_UNIX, SOCK_STREAM, 0), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  EXPECT_EQ(sockets.socket(AF_INET, SOCK_DGRAM, 0), -1);
  EXPECT_EQ(errno, EPROTONOSUPPORT);
  char byte = 0;
  EXPECT_EQ(sockets.read(a, &byte, 1), -1);
  EXPECT_EQ(errno, ENOTCONN);
  EXPECT_EQ(sockets.fcntl(b, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  EXPECT_EQ(sockets.close(a), 0);
  EXPECT_EQ(sockets.close(a), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(sockets.read(99, &byte, 1), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(sockets.close(b), 0);
  EXPECT_EQ(sockets.open_sockets(), 0u);
  // The freed entry comes back last-in-line: 3 was freed first, so it is reused first.
  EXPECT_EQ(sockets.socket(AF_INET, SOCK_STREAM, 0), 3);
}

}  // namespace
