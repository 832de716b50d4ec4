// TCP input on a connection held in each state: the first input byte picks the state (LISTEN,
// SYN-SENT, SYN-RECEIVED, ESTABLISHED with data both ways and out-of-order data held,
// FIN-WAIT-1/2, CLOSING, TIME-WAIT, CLOSE-WAIT, LAST-ACK) and whether options, delayed ACKs,
// ECN, an orphaning close() and a nearly empty mbuf pool are in play; the rest is a sequence of
// peer segments, timer advances and application calls (tcp_driver.hpp says what is checked).
#include "fuzz_env.hpp"
#include "tcp_driver.hpp"

using namespace dtcp;

namespace {
rte_mempool* g_pool = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_pool = fuzz::init_eal_pool("tcpstate", 2047);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader r({data, size});
  const uint8_t selector = r.u8();
  const uint8_t flags = r.u8();
  fuzz::DriverOptions options{
      .start = static_cast<fuzz::Start>(selector % static_cast<uint8_t>(fuzz::Start::count)),
      .tcp_options = (flags & 1) != 0,
      .delayed_ack = (flags & 2) != 0,
      .ecn = (flags & 4) != 0,
      .orphan = (flags & 8) != 0,
      .scarce_mbufs = (flags & 0x10) != 0,
  };
  fuzz::Driver driver(g_pool, options);
  driver.setup();
  driver.run(r);
  driver.teardown();
  return 0;
}
