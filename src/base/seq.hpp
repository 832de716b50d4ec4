// TCP sequence space (RFC 9293 §3.4).
//
// Sequence numbers live on a circle of 2^32 values, so a raw uint32_t comparison of two of them is a
// bug. SeqNum compares by signed 32-bit difference (serial number arithmetic, RFC 1982 §3.2): a < b
// iff int32_t(a - b) < 0. That is meaningful only while the two are less than 2^31 apart, which TCP
// guarantees because windows are at most 2^30 bytes (RFC 7323 §2.3). At a distance of exactly 2^31
// the order is undefined by RFC 1982; here both a < b and b < a hold, so do not rely on it.
//
// SeqLen is a length in sequence space (a window size, a segment length, a distance): a plain
// unsigned quantity compared as such. Keeping the two apart makes "seq + seq" and "len < seq" fail to
// compile, as gVisor's seqnum.Value / seqnum.Size do.
#pragma once

#include <compare>
#include <cstdint>
#include <iosfwd>

namespace dtcp {

class SeqLen {
 public:
  constexpr SeqLen() = default;
  constexpr explicit SeqLen(uint32_t v) : v_(v) {}
  constexpr uint32_t value() const { return v_; }

  // Modulo 2^32, like the sequence space itself; callers keep lengths below 2^31.
  friend constexpr SeqLen operator+(SeqLen a, SeqLen b) { return SeqLen(a.v_ + b.v_); }
  friend constexpr SeqLen operator-(SeqLen a, SeqLen b) { return SeqLen(a.v_ - b.v_); }
  constexpr SeqLen& operator+=(SeqLen o) { v_ += o.v_; return *this; }
  constexpr SeqLen& operator-=(SeqLen o) { v_ -= o.v_; return *this; }

  friend constexpr bool operator==(SeqLen, SeqLen) = default;
  friend constexpr auto operator<=>(SeqLen, SeqLen) = default;

 private:
  uint32_t v_ = 0;
};

class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(uint32_t v) : v_(v) {}
  constexpr uint32_t value() const { return v_; }

  constexpr SeqNum operator+(SeqLen l) const { return SeqNum(v_ + l.value()); }
  constexpr SeqNum operator-(SeqLen l) const { return SeqNum(v_ - l.value()); }
  constexpr SeqNum& operator+=(SeqLen l) { v_ += l.value(); return *this; }
  constexpr SeqNum& operator-=(SeqLen l) { v_ -= l.value(); return *this; }

  // Distance a - b modulo 2^32. Needs: a >= b in sequence space (otherwise the result is the
  // distance the long way round, which is almost always a bug).
  friend constexpr SeqLen operator-(SeqNum a, SeqNum b) { return SeqLen(a.v_ - b.v_); }

  friend constexpr bool operator==(SeqNum, SeqNum) = default;
  friend constexpr bool operator<(SeqNum a, SeqNum b) { return diff(a, b) < 0; }
  friend constexpr bool operator<=(SeqNum a, SeqNum b) { return diff(a, b) <= 0; }
  friend constexpr bool operator>(SeqNum a, SeqNum b) { return diff(a, b) > 0; }
  friend constexpr bool operator>=(SeqNum a, SeqNum b) { return diff(a, b) >= 0; }

 private:
  // Conversion of an out-of-range unsigned value to int32_t is modular since C++20.
  static constexpr int32_t diff(SeqNum a, SeqNum b) { return static_cast<int32_t>(a.v_ - b.v_); }

  uint32_t v_ = 0;
};

// The later / earlier of two sequence numbers (both within 2^31 of each other).
constexpr SeqNum seq_max(SeqNum a, SeqNum b) { return a < b ? b : a; }
constexpr SeqNum seq_min(SeqNum a, SeqNum b) { return b < a ? b : a; }

// start <= s < start + len in sequence space; false when len is 0. This is the building block of
// the RFC 9293 §3.10.7.4 acceptability test (which treats the zero-window cases separately).
// Exact for any len up to 2^32 - 1: it compares the forward distance from start, so it does not
// suffer from the 2^31 ambiguity of operator<.
constexpr bool seq_in_window(SeqNum s, SeqNum start, SeqLen len) {
  return (s - start).value() < len.value();
}

std::ostream& operator<<(std::ostream& os, SeqNum s);
std::ostream& operator<<(std::ostream& os, SeqLen l);

}  // namespace dtcp
