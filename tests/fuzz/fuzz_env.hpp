// Shared pieces of the libFuzzer targets: a minimal EAL started once for an mbuf pool, a reader
// that turns the fuzzer's bytes into values (0 once they run out, so every input is valid), and
// the failure report that stops the fuzzer on a broken invariant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

struct rte_mempool;

namespace dtcp::fuzz {

// Starts EAL (--no-huge --no-pci, a per-process file prefix) and creates an mbuf pool of `mbufs`
// without a per-lcore cache, so rte_mempool_avail_count() is exact. Call once, from
// LLVMFuzzerInitialize; exits with a message if EAL or the pool fails.
rte_mempool* init_eal_pool(const char* name, unsigned mbufs);
// mbufs of `pool` not back in it.
unsigned mbufs_in_use(rte_mempool* pool);

// A broken invariant: prints what and aborts, which libFuzzer reports as a crash with the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "dtcp fuzz invariant broken: %s\n", what);
  std::abort();
}
#define DTCP_FUZZ_CHECK(cond)                                                                 \
  do {                                                                                        \
    if (!(cond)) ::dtcp::fuzz::fail(#cond " (" __FILE__ ":" DTCP_FUZZ_STR(__LINE__) ")");   \
  } while (0)
#define DTCP_FUZZ_STR2(x) #x
#define DTCP_FUZZ_STR(x) DTCP_FUZZ_STR2(x)

// Reads the input front to back; past the end every read yields 0 and empty spans.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  bool empty() const { return pos_ >= data_.size(); }
  size_t remaining() const { return empty() ? 0 : data_.size() - pos_; }
  uint8_t u8() { return empty() ? 0 : data_[pos_++]; }
  uint16_t u16() { return static_cast<uint16_t>((u8() << 8) | u8()); }
  uint32_t u32() { return (uint32_t{u16()} << 16) | u16(); }
  // Up to n bytes (fewer at the end).
  std::span<const uint8_t> bytes(size_t n) {
    const size_t k = n < remaining() ? n : remaining();
    auto out = data_.subspan(pos_, k);
    pos_ += k;
    return out;
  }
  std::span<const uint8_t> rest() { return bytes(remaining()); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace dtcp::fuzz
