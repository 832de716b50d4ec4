// The congestion controller is chosen per connection: [tcp] congestion, overridden by
// ConnectOptions::congestion and ListenOptions::congestion (issue #10 part 3).
#include "harness.hpp"

namespace dtcp::tcp::test {
namespace {

class CongestionSelect : public TcpTest {
 protected:
  std::string controller_of_only_connection() const {
    std::string name;
    shard->for_each_connection([&](const ConnectionInfo& i) { name = i.congestion; });
    return name;
  }
};

TEST_F(CongestionSelect, DefaultIsCubic) {
  established();
  EXPECT_EQ(controller_of_only_connection(), "cubic");
}

TEST_F(CongestionSelect, ConfigReno_ListenerAsksCubic) {
  config.congestion = CongestionAlgorithm::reno;
  make_shard();
  ASSERT_TRUE(shard->listen(kLocalPort, rec, ListenOptions{.congestion = CongestionAlgorithm::cubic}).ok());
  inject({.flags = SYN, .seq = 1000, .window = 65535, .options = {.mss = 1460}});
  EXPECT_EQ(controller_of_only_connection(), "cubic");
  shard->unlisten(kLocalPort);
}

TEST_F(CongestionSelect, ConnectAsksReno) {
  const ConnectResult r = shard->connect(remote_addr, kRemotePort, rec,
                                         ConnectOptions{.local_port = kLocalPort, .congestion = CongestionAlgorithm::reno}, now_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(controller_of_only_connection(), "reno");
}

}  // namespace
}  // namespace dtcp::tcp::test
