// Test helpers for the sent-segment map: its records as plain values (offsets from a base sequence
// number, so expectations read as byte ranges), and a check that recomputes from the records what
// SentMap keeps incrementally.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tcp/sent_map.hpp"

namespace dtcp::tcp::test {

// Flag letters for expectations: S sacked, L lost, R retransmitted (in flight), E ever retransmitted.
inline constexpr uint8_t S = SentSegment::kSacked;
inline constexpr uint8_t L = SentSegment::kLost;
inline constexpr uint8_t R = SentSegment::kRetransmitted;
inline constexpr uint8_t E = SentSegment::kEverRetransmitted;

// One record: [start, end) as offsets from a base, and its flags.
struct Rec {
  uint32_t start = 0, end = 0;
  uint8_t flags = 0;
  bool operator==(const Rec&) const = default;
};

inline void PrintTo(const Rec& r, std::ostream* os) {
  *os << "[" << r.start << "," << r.end << ")";
  if (r.flags & S) *os << "S";
  if (r.flags & L) *os << "L";
  if (r.flags & R) *os << "R";
  if (r.flags & E) *os << "E";
}

// The records in sequence order, offsets from `base`.
inline std::vector<Rec> records_of(const SentMap& map, SeqNum base) {
  std::vector<Rec> out;
  for (const SentSegment& s : map.by_seq()) out.push_back({(s.start - base).value(), (s.end - base).value(), s.flags});
  return out;
}

// The records in flight, oldest transmission first: [start, end) offsets from `base`.
inline std::vector<Rec> time_order_of(SentMap& map, SeqNum base) {
  std::vector<Rec> out;
  for (const SentSegment& s : map.by_time()) out.push_back({(s.start - base).value(), (s.end - base).value(), s.flags});
  return out;
}

// The map's invariants: records tile the sequence space without gaps or overlaps (and cover
// `outstanding` bytes when given), the byte counters are the sums over the marked records, the
// record count is right, the transmit order holds exactly the records in flight (neither
// SACKed nor lost, or lost with a retransmission in flight), oldest first, and the search tree,
// while the map keeps one, holds exactly the records of the sequence order, in that order.
inline ::testing::AssertionResult map_consistent(SentMap& map, std::optional<uint32_t> outstanding = std::nullopt) {
  uint64_t total = 0, sacked = 0, lost = 0, retrans = 0;
  uint32_t count = 0, in_flight = 0;
  const SentSegment* prev = nullptr;
  for (const SentSegment& s : map.by_seq()) {
    if (!(s.start < s.end)) return ::testing::AssertionFailure() << "empty or reversed record at " << s.start.value();
    if (prev && prev->end != s.start)
      return ::testing::AssertionFailure() << "gap or overlap: " << prev->end.value() << " then " << s.start.value();
    total += s.len();
    if (s.has(SentSegment::kSacked)) sacked += s.len();
    if (s.has(SentSegment::kLost)) lost += s.len();
    if (s.has(SentSegment::kRetransmitted)) retrans += s.len();
    const bool should_be_timed = !s.has(SentSegment::kSacked) &&
                                 (!s.has(SentSegment::kLost) || s.has(SentSegment::kRetransmitted));
    if (s.in_time_order() != should_be_timed)
      return ::testing::AssertionFailure() << "record at " << s.start.value() << " flags " << unsigned{s.flags}
                                           << (s.in_time_order() ? " is" : " is not") << " in the transmit order";
    if (s.has(SentSegment::kSacked) && (s.has(SentSegment::kLost) || s.has(SentSegment::kRetransmitted)))
      return ::testing::AssertionFailure() << "SACKed record at " << s.start.value() << " still lost/retransmitted";
    in_flight += should_be_timed ? 1 : 0;
    ++count;
    prev = &s;
  }
  if (outstanding && total != *outstanding)
    return ::testing::AssertionFailure() << "records cover " << total << " bytes, outstanding " << *outstanding;
  if (sacked != map.sacked_bytes()) return ::testing::AssertionFailure() << "sacked_bytes " << map.sacked_bytes() << " != " << sacked;
  if (lost != map.lost_bytes()) return ::testing::AssertionFailure() << "lost_bytes " << map.lost_bytes() << " != " << lost;
  if (retrans != map.retransmitted_bytes())
    return ::testing::AssertionFailure() << "retransmitted_bytes " << map.retransmitted_bytes() << " != " << retrans;
  if (count != map.records()) return ::testing::AssertionFailure() << "records() " << map.records() << " != " << count;
  uint32_t timed = 0;
  const SentSegment* before = nullptr;
  for (const SentSegment& s : map.by_time()) {
    if (before && s.xmit_time < before->xmit_time)
      return ::testing::AssertionFailure() << "transmit order goes back in time at " << s.start.value();
    before = &s;
    ++timed;
  }
  if (timed != in_flight) return ::testing::AssertionFailure() << timed << " records in the transmit order, " << in_flight << " in flight";
  if (map.indexed()) {
    auto listed = map.by_seq().begin();
    for (const SentSegment& s : map.index()) {
      if (listed == map.by_seq().end() || &*listed != &s)
        return ::testing::AssertionFailure() << "the search tree's record at " << s.start.value()
                                             << " is not the sequence order's";
      ++listed;
    }
    if (listed != map.by_seq().end())
      return ::testing::AssertionFailure() << "record at " << listed->start.value() << " missing from the search tree";
  } else if (!map.index().empty()) {
    return ::testing::AssertionFailure() << "a search tree left behind after it was dropped";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace dtcp::tcp::test
