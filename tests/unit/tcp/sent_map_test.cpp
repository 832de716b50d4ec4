// The sent-segment map on its own (no shard): records per burst, cumulative ACKs, every shape of
// SACK block, the record bounds, loss marks and the pipe they give (RFC 6675 §4 SetPipe() in the
// form pipe = outstanding - SACKed - lost + retransmitted).
#include <memory>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "sent_map_check.hpp"
#include "tcp/sent_map.hpp"

namespace dtcp::tcp::test {
namespace {

using Recs = std::vector<Rec>;
using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

// 256 bytes below the wrap: the offsets used here cross 2^32, so the map's order must be SeqNum's.
const SeqNum kBase(0xffffff00u);

SeqNum at(uint32_t offset) { return kBase + SeqLen(offset); }
TimePoint ms(int64_t v) { return TimePoint(std::chrono::milliseconds(v)); }

class SentMapTest : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_TRUE(map_consistent(map));
    map.clear(*pool);
    EXPECT_EQ(map.records(), 0u);
    EXPECT_EQ(pool->available(), pool_size) << "records not given back to the pool";
  }
  // A fresh pool of `size` records and a per-connection bound of `max` (the map must be empty).
  void reset(uint32_t size, uint32_t max) {
    map.clear(*pool);
    pool = std::make_unique<SentSegmentPool>(size);
    pool_size = size;
    max_records = max;
  }
  void send(uint32_t from, uint32_t to, int64_t when) { map.on_send(*pool, max_records, at(from), at(to), ms(when)); }
  // SACKs [left, right); returns the bytes newly SACKed, the delivered pieces land in `delivered`.
  uint32_t sack(uint32_t left, uint32_t right) {
    return map.on_sack(*pool, max_records, at(left), at(right), [&](const SentSegment& s) {
      delivered.emplace_back((s.start - kBase).value(), (s.end - kBase).value());
    });
  }
  void ack(uint32_t una) {
    map.on_cumulative_ack(*pool, at(una), [&](const SentSegment& s) {
      delivered.emplace_back((s.start - kBase).value(), (s.end - kBase).value());
    });
  }
  SentSegment& rec(uint32_t offset) {
    SentSegment* s = map.find(at(offset));
    EXPECT_NE(s, nullptr) << "no record holds offset " << offset;
    return *s;
  }
  Recs recs() const { return records_of(map, kBase); }
  Ranges time_order() {
    Ranges out;
    for (const Rec& r : time_order_of(map, kBase)) out.emplace_back(r.start, r.end);
    return out;
  }

  uint32_t pool_size = 64;
  uint32_t max_records = 64;
  std::unique_ptr<SentSegmentPool> pool = std::make_unique<SentSegmentPool>(pool_size);
  SentMap map;
  Ranges delivered;
};

// ---- on_send ----

TEST_F(SentMapTest, OnSend_OneBurstAtTheSameInstant_OneRecord) {
  send(0, 1448, 5);
  send(1448, 2896, 5);
  send(2896, 3000, 5);
  EXPECT_EQ(recs(), (Recs{{0, 3000, 0}}));
  EXPECT_EQ(map.records(), 1u);
  EXPECT_EQ(pool->available(), 64u) << "the first record is the map's own";
  EXPECT_EQ(map.first()->xmit_time, ms(5));
  EXPECT_TRUE(map_consistent(map, 3000));
}

TEST_F(SentMapTest, OnSend_DifferentInstants_SeparateRecordsInTransmitOrder) {
  send(0, 100, 1);
  send(100, 200, 2);
  send(200, 300, 2);  // same instant as the previous send: merged into it
  send(300, 400, 3);
  EXPECT_EQ(recs(), (Recs{{0, 100, 0}, {100, 300, 0}, {300, 400, 0}}));
  EXPECT_EQ(time_order(), (Ranges{{0, 100}, {100, 300}, {300, 400}}));
  EXPECT_EQ(pool->available(), 62u);
  EXPECT_TRUE(map_consistent(map, 400));
}

TEST_F(SentMapTest, OnSend_TailMarkedOrResent_NotMergedEvenAtTheSameInstant) {
  send(0, 100, 1);
  map.mark_lost(rec(0));
  send(100, 200, 1);  // the tail is lost: a new record
  map.mark_lost(rec(100));
  map.on_retransmit(*pool, max_records, rec(100), 100, ms(2));
  send(200, 300, 2);  // the tail was resent at this instant and is last in transmit order: still new
  EXPECT_EQ(recs(), (Recs{{0, 100, L}, {100, 200, L | R | E}, {200, 300, 0}}));
  EXPECT_EQ(time_order(), (Ranges{{100, 200}, {200, 300}}));
  EXPECT_EQ(map.retransmitted_bytes(), 100u);
  EXPECT_TRUE(map_consistent(map, 300));
}

TEST_F(SentMapTest, OnSend_NoRecordToBeHad_TailAbsorbsAndForgetsItsMarks) {
  reset(0, 64);  // only the map's own record
  send(0, 100, 1);
  map.mark_lost(rec(0));
  send(100, 200, 2);
  // One record, sent "at 2": the lost mark is gone (the scoreboard knows less, the timer repairs).
  EXPECT_EQ(recs(), (Recs{{0, 200, 0}}));
  EXPECT_EQ(map.first()->xmit_time, ms(2));
  EXPECT_EQ(map.lost_bytes(), 0u);
  EXPECT_EQ(map.pipe(200), 200u);
  EXPECT_TRUE(map_consistent(map, 200));
}

// ---- on_cumulative_ack ----

TEST_F(SentMapTest, OnCumulativeAck_WholeRecordsFreedAndDelivered) {
  send(0, 100, 1);
  send(100, 200, 2);
  send(200, 300, 3);
  ack(200);
  EXPECT_EQ(delivered, (Ranges{{0, 100}, {100, 200}}));
  EXPECT_EQ(recs(), (Recs{{200, 300, 0}}));
  EXPECT_EQ(pool->available(), 63u);  // the map's own record went first, one pool record is left
  EXPECT_TRUE(map_consistent(map, 100));
}

TEST_F(SentMapTest, OnCumulativeAck_PartOfARecord_KeepsItsPlaceAndMarks) {
  send(0, 300, 1);
  map.mark_lost(rec(0));
  map.on_retransmit(*pool, max_records, rec(0), 300, ms(2));
  EXPECT_EQ(map.lost_bytes(), 300u);
  EXPECT_EQ(map.retransmitted_bytes(), 300u);
  ack(120);
  // The callback sees the record as it was (the caller counts min(end, ack) - start).
  EXPECT_EQ(delivered, (Ranges{{0, 300}}));
  EXPECT_EQ(recs(), (Recs{{120, 300, L | R | E}}));
  EXPECT_EQ(map.lost_bytes(), 180u);
  EXPECT_EQ(map.retransmitted_bytes(), 180u);
  EXPECT_EQ(map.pipe(180), 180u);
  EXPECT_TRUE(map_consistent(map, 180));
}

TEST_F(SentMapTest, OnCumulativeAck_SackedDataIsNotDeliveredTwice) {
  send(0, 300, 1);
  EXPECT_EQ(sack(100, 200), 100u);
  EXPECT_EQ(delivered, (Ranges{{100, 200}}));
  delivered.clear();
  ack(300);
  EXPECT_EQ(delivered, (Ranges{{0, 100}, {200, 300}}));
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.sacked_bytes(), 0u);
  EXPECT_TRUE(map_consistent(map, 0));
}

// ---- on_sack: every block shape ----

TEST_F(SentMapTest, OnSack_ExactlyOneRecord) {
  send(0, 100, 1);
  send(100, 200, 2);
  send(200, 300, 3);
  EXPECT_EQ(sack(100, 200), 100u);
  EXPECT_EQ(delivered, (Ranges{{100, 200}}));
  EXPECT_EQ(recs(), (Recs{{0, 100, 0}, {100, 200, S}, {200, 300, 0}}));
  EXPECT_EQ(time_order(), (Ranges{{0, 100}, {200, 300}}));
  EXPECT_EQ(map.pipe(300), 200u);
  EXPECT_TRUE(map_consistent(map, 300));
}

TEST_F(SentMapTest, OnSack_InsideOneRecord_SplitAtBothEnds) {
  send(0, 300, 1);
  EXPECT_EQ(sack(100, 150), 50u);
  EXPECT_EQ(delivered, (Ranges{{100, 150}}));
  EXPECT_EQ(recs(), (Recs{{0, 100, 0}, {100, 150, S}, {150, 300, 0}}));
  // Both pieces keep the burst's transmit time and their place in the transmit order.
  EXPECT_EQ(time_order(), (Ranges{{0, 100}, {150, 300}}));
  EXPECT_EQ(rec(150).xmit_time, ms(1));
  EXPECT_EQ(map.records(), 3u);
  EXPECT_EQ(map.pipe(300), 250u);
  EXPECT_TRUE(map_consistent(map, 300));
}

TEST_F(SentMapTest, OnSack_SpanningSeveralRecords_SplitsTheEndsAndMergesTheRest) {
  send(0, 100, 1);
  send(100, 200, 2);
  send(200, 300, 3);
  send(300, 400, 4);
  EXPECT_EQ(sack(50, 350), 300u);
  // Each piece is delivered as it was sent (RACK needs each one's transmit time) ...
  EXPECT_EQ(delivered, (Ranges{{50, 100}, {100, 200}, {200, 300}, {300, 350}}));
  // ... and the SACKed ones then merge into one record.
  EXPECT_EQ(recs(), (Recs{{0, 50, 0}, {50, 350, S}, {350, 400, 0}}));
  EXPECT_EQ(time_order(), (Ranges{{0, 50}, {350, 400}}));
  EXPECT_EQ(map.records(), 3u);
  EXPECT_EQ(pool->available(), 62u);
  EXPECT_TRUE(map_consistent(map, 400));
}

TEST_F(SentMapTest, OnSack_OverlappingAnAlreadySackedRange_CountsOnlyTheNewBytes) {
  send(0, 300, 1);
  EXPECT_EQ(sack(100, 200), 100u);
  delivered.clear();
  EXPECT_EQ(sack(150, 250), 50u);
  EXPECT_EQ(delivered, (Ranges{{200, 250}}));
  EXPECT_EQ(recs(), (Recs{{0, 100, 0}, {100, 250, S}, {250, 300, 0}}));
  delivered.clear();
  EXPECT_EQ(sack(100, 250), 0u);  // the same block again: nothing new
  EXPECT_EQ(sack(120, 130), 0u);  // inside the SACKed range
  EXPECT_TRUE(delivered.empty());
  EXPECT_EQ(map.sacked_bytes(), 150u);
  EXPECT_TRUE(map_consistent(map, 300));
}

TEST_F(SentMapTest, OnSack_AdjacentSackedRecordsMergeOnBothSides) {
  send(0, 100, 1);
  send(100, 200, 2);
  send(200, 300, 3);
  send(300, 400, 4);
  EXPECT_EQ(sack(100, 200), 100u);
  EXPECT_EQ(sack(300, 400), 100u);
  EXPECT_EQ(map.records(), 4u);
  EXPECT_EQ(sack(200, 300), 100u);  // fills the gap: one record from 100 to 400
  EXPECT_EQ(recs(), (Recs{{0, 100, 0}, {100, 400, S}}));
  EXPECT_EQ(map.records(), 2u);
  EXPECT_EQ(pool->available(), 63u);
  EXPECT_TRUE(map_consistent(map, 400));
}

TEST_F(SentMapTest, OnSack_MergedRecordKeepsEverRetransmitted) {
  send(0, 100, 1);
  send(100, 200, 2);
  map.mark_lost(rec(0));
  map.on_retransmit(*pool, max_records, rec(0), 100, ms(3));
  EXPECT_EQ(sack(100, 200), 100u);
  EXPECT_EQ(sack(0, 100), 100u);  // the retransmission arrived: marks go, E stays
  EXPECT_EQ(recs(), (Recs{{0, 200, S | E}}));
  EXPECT_EQ(map.lost_bytes(), 0u);
  EXPECT_EQ(map.retransmitted_bytes(), 0u);
  EXPECT_EQ(map.pipe(200), 0u);
  EXPECT_TRUE(map_consistent(map, 200));
}

TEST_F(SentMapTest, OnSack_BlockOutsideTheMap_Ignored) {
  send(0, 300, 1);
  EXPECT_EQ(sack(300, 400), 0u);
  EXPECT_EQ(map.on_sack(*pool, max_records, kBase - SeqLen(100), kBase, [](const SentSegment&) {}), 0u);
  EXPECT_EQ(sack(250, 400), 50u);  // the part inside the map counts
  EXPECT_EQ(recs(), (Recs{{0, 250, 0}, {250, 300, S}}));
  EXPECT_TRUE(map_consistent(map, 300));
}

TEST_F(SentMapTest, OnSack_PoolEmpty_BlockRoundedInward) {
  reset(2, 64);
  send(0, 100, 1);    // the map's own record
  send(100, 200, 2);  // the pool's two
  send(200, 300, 3);
  EXPECT_EQ(pool->available(), 0u);
  // [50, 250) would need two splits: only the record it covers whole is marked; nothing that
  // was not SACKed is claimed to be.
  EXPECT_EQ(sack(50, 250), 100u);
  EXPECT_EQ(delivered, (Ranges{{100, 200}}));
  EXPECT_EQ(recs(), (Recs{{0, 100, 0}, {100, 200, S}, {200, 300, 0}}));
  delivered.clear();
  EXPECT_EQ(sack(10, 20), 0u);  // inside one record: nothing at all
  EXPECT_TRUE(delivered.empty());
  EXPECT_EQ(map.sacked_bytes(), 100u);
  EXPECT_EQ(map.pipe(300), 200u);
  // A block that ends on a record boundary needs only the split at its left edge, which a freed
  // record allows again: SACKing [200, 300) merges two records and frees one.
  EXPECT_EQ(sack(200, 300), 100u);
  EXPECT_EQ(pool->available(), 1u);
  EXPECT_EQ(sack(50, 100), 50u);
  EXPECT_EQ(recs(), (Recs{{0, 50, 0}, {50, 300, S}}));
  EXPECT_TRUE(map_consistent(map, 300));
}

TEST_F(SentMapTest, OnSack_PerConnectionBound_NoMoreRecordsThanAllowed) {
  reset(64, 3);  // plenty in the pool, three records for this connection
  send(0, 1000, 1);
  EXPECT_EQ(sack(100, 200), 100u);  // two splits: three records
  EXPECT_EQ(map.records(), 3u);
  EXPECT_EQ(sack(400, 500), 0u);    // would need a fourth
  EXPECT_EQ(sack(600, 1000), 0u);   // so would this (a split at 600)
  EXPECT_EQ(recs(), (Recs{{0, 100, 0}, {100, 200, S}, {200, 1000, 0}}));
  EXPECT_EQ(pool->available(), 62u);
  // New data at another instant cannot have a record either: the tail takes it.
  send(1000, 1100, 2);
  EXPECT_EQ(map.records(), 3u);
  EXPECT_EQ(recs(), (Recs{{0, 100, 0}, {100, 200, S}, {200, 1100, 0}}));
  EXPECT_EQ(map.first()->xmit_time, ms(1));
  EXPECT_EQ(map.last()->xmit_time, ms(2));
  EXPECT_TRUE(map_consistent(map, 1100));
}

TEST_F(SentMapTest, OnSack_ManySmallBlocks_MapNeverExceedsItsBound) {
  reset(64, 8);
  send(0, 14480, 1);
  // A peer carving the flight into one-byte blocks far apart.
  uint32_t newly = 0;
  for (uint32_t k = 0; k < 10; ++k) newly += sack(1000 + k * 1448, 1001 + k * 1448);
  EXPECT_LE(map.records(), 8u);
  EXPECT_EQ(pool->available(), 64u - (map.records() - 1));
  // Three blocks got their two splits each (1 + 2 * 3 = 7 records), the fourth only its left one.
  EXPECT_EQ(newly, 3u);
  EXPECT_EQ(map.sacked_bytes(), 3u);
  EXPECT_TRUE(map_consistent(map, 14480));
  ack(14480);
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(pool->available(), 64u);
}

// ---- loss marks, retransmissions and pipe ----

TEST_F(SentMapTest, MarkLostAndRetransmit_PipeAfterEachStep) {
  send(0, 100, 1);
  send(100, 200, 2);
  send(200, 300, 3);
  send(300, 400, 4);
  const uint32_t outstanding = 400;
  EXPECT_EQ(map.pipe(outstanding), 400u);
  sack(300, 400);
  EXPECT_EQ(map.pipe(outstanding), 300u);  // 400 - 100 SACKed
  map.mark_lost(rec(0));
  EXPECT_EQ(map.pipe(outstanding), 200u);  // - 100 lost
  map.mark_lost(rec(100));
  EXPECT_EQ(map.pipe(outstanding), 100u);
  EXPECT_EQ(time_order(), (Ranges{{200, 300}}));
  SentSegment& first = map.on_retransmit(*pool, max_records, rec(0), 100, ms(5));
  EXPECT_EQ((first.start - kBase).value(), 0u);
  EXPECT_EQ(map.pipe(outstanding), 200u);  // + 100 retransmitted
  // Part of a record: it is split, only the first 40 bytes count as resent.
  SentSegment& part = map.on_retransmit(*pool, max_records, rec(100), 40, ms(6));
  EXPECT_EQ(part.len(), 40u);
  EXPECT_EQ(recs(), (Recs{{0, 100, L | R | E}, {100, 140, L | R | E}, {140, 200, L}, {200, 300, 0}, {300, 400, S}}));
  EXPECT_EQ(map.lost_bytes(), 200u);
  EXPECT_EQ(map.retransmitted_bytes(), 140u);
  EXPECT_EQ(map.pipe(outstanding), 240u);  // 400 - 100 - 200 + 140
  EXPECT_EQ(time_order(), (Ranges{{200, 300}, {0, 100}, {100, 140}}));
  EXPECT_EQ(rec(0).xmit_time, ms(5));
  EXPECT_EQ(rec(140).xmit_time, ms(2));
  // Lost again (RACK after the retransmission): no retransmission in flight any more.
  map.mark_lost(rec(0));
  EXPECT_EQ(rec(0).flags, L | E);
  EXPECT_EQ(map.pipe(outstanding), 140u);  // 400 - 100 - 200 + 40
  // Marking a SACKed record lost does nothing; marking a lost one again neither.
  map.mark_lost(rec(300));
  map.mark_lost(rec(140));
  EXPECT_EQ(map.pipe(outstanding), 140u);
  EXPECT_EQ(map.lost_bytes(), 200u);
  EXPECT_TRUE(map_consistent(map, outstanding));
}

TEST_F(SentMapTest, OnRetransmit_OfARecordInFlight_CountsTwiceInPipe) {
  // A tail loss probe resends a segment not marked lost: until it is acknowledged, the original
  // and the probe are both in flight (Linux counts it in retrans_out the same way).
  send(0, 100, 1);
  map.on_retransmit(*pool, max_records, rec(0), 100, ms(2));
  EXPECT_EQ(recs(), (Recs{{0, 100, R | E}}));
  EXPECT_EQ(map.pipe(100), 200u);
  EXPECT_TRUE(map_consistent(map, 100));
}

TEST_F(SentMapTest, MarkAllLost_KeepsSacks_OrForgetsThemWhenReneged) {
  send(0, 100, 1);
  send(100, 200, 2);
  send(200, 300, 3);
  sack(100, 200);
  map.mark_lost(rec(0));
  map.on_retransmit(*pool, max_records, rec(0), 100, ms(4));
  map.mark_all_lost(/*forget_sacks=*/false);
  EXPECT_EQ(recs(), (Recs{{0, 100, L | E}, {100, 200, S}, {200, 300, L}}));
  EXPECT_EQ(map.retransmitted_bytes(), 0u);
  EXPECT_EQ(map.pipe(300), 0u);
  EXPECT_TRUE(time_order().empty());
  EXPECT_TRUE(map_consistent(map, 300));
  map.mark_all_lost(/*forget_sacks=*/true);
  EXPECT_EQ(recs(), (Recs{{0, 100, L | E}, {100, 200, L}, {200, 300, L}}));
  EXPECT_EQ(map.sacked_bytes(), 0u);
  EXPECT_EQ(map.lost_bytes(), 300u);
  EXPECT_EQ(map.pipe(300), 0u);
  EXPECT_TRUE(map_consistent(map, 300));
}

TEST_F(SentMapTest, UnmarkLostUnretransmitted_BackInFlightOldestFirst) {
  send(0, 100, 1);
  send(100, 200, 2);
  send(200, 300, 3);
  send(300, 400, 4);
  sack(300, 400);
  map.mark_all_lost(false);
  map.on_retransmit(*pool, max_records, rec(0), 100, ms(10));
  EXPECT_EQ(map.pipe(400), 100u);
  map.unmark_lost_unretransmitted();
  // The retransmitted record stays lost (its retransmission is what is in flight); the others are
  // in flight again, in sequence order ahead of it.
  EXPECT_EQ(recs(), (Recs{{0, 100, L | R | E}, {100, 200, 0}, {200, 300, 0}, {300, 400, S}}));
  EXPECT_EQ(time_order(), (Ranges{{100, 200}, {200, 300}, {0, 100}}));
  EXPECT_EQ(map.lost_bytes(), 100u);
  EXPECT_EQ(map.pipe(400), 300u);
  EXPECT_TRUE(map_consistent(map, 400));
}

TEST_F(SentMapTest, Find_ByAnyOffsetInsideARecord) {
  send(0, 100, 1);
  send(100, 300, 2);
  EXPECT_EQ(map.find(kBase - SeqLen(1)), nullptr);
  EXPECT_EQ(map.find(at(0)), map.first());
  EXPECT_EQ(map.find(at(99)), map.first());
  EXPECT_EQ(map.find(at(100)), map.last());
  EXPECT_EQ(map.find(at(256)), map.last());  // past the 2^32 wrap
  EXPECT_EQ(map.find(at(299)), map.last());
  EXPECT_EQ(map.find(at(300)), nullptr);
  map.clear(*pool);
  EXPECT_EQ(map.find(at(0)), nullptr);
  EXPECT_EQ(map.first(), nullptr);
  EXPECT_EQ(map.last(), nullptr);
}

TEST_F(SentMapTest, Split_UpperPartKeepsMarksAndTime_NullWhenNoRecord) {
  reset(1, 64);
  send(0, 300, 1);
  map.mark_lost(rec(0));
  SentSegment* upper = map.split(*pool, max_records, rec(0), at(100));
  ASSERT_NE(upper, nullptr);
  EXPECT_EQ(recs(), (Recs{{0, 100, L}, {100, 300, L}}));
  EXPECT_EQ(upper->xmit_time, ms(1));
  EXPECT_EQ(map.split(*pool, max_records, rec(0), at(50)), nullptr);
  EXPECT_EQ(map.lost_bytes(), 300u);
  EXPECT_TRUE(map_consistent(map, 300));
}


// ---- the search tree (built for a map of more than kWalkedRecords, dropped when small) ----

// 20 records of 100 bytes, each sent at its own instant, so the map is past the walked size.
// The wrap of the sequence space (offset 256) lies inside the third record.
TEST_F(SentMapTest, Index_BlockAcrossTheSequenceWrap_SplitsInTheTreeAndList) {
  for (uint32_t k = 0; k < 20; ++k) send(k * 100, (k + 1) * 100, k + 1);
  EXPECT_FALSE(map.indexed()) << "no search yet: no tree";
  EXPECT_EQ(sack(250, 260), 10u);  // [250, 260) straddles 2^32: two splits
  EXPECT_TRUE(map.indexed());
  EXPECT_EQ(delivered, (Ranges{{250, 260}}));
  EXPECT_EQ(map.records(), 22u);
  EXPECT_TRUE(map_consistent(map, 2000));
  for (uint32_t off = 0; off < 2000; off += 7) {
    SentSegment* s = map.find(at(off));
    ASSERT_NE(s, nullptr) << off;
    EXPECT_TRUE(s->start <= at(off) && at(off) < s->end) << off;
  }
  EXPECT_EQ(map.find(at(2000)), nullptr);
  EXPECT_EQ(map.find(kBase - SeqLen(1)), nullptr);
  // A second block adjacent above merges into the first, across the wrap.
  EXPECT_EQ(sack(260, 400), 140u);
  EXPECT_EQ(recs()[2], (Rec{200, 250, 0}));
  EXPECT_EQ(recs()[3], (Rec{250, 400, S}));
  EXPECT_TRUE(map_consistent(map, 2000));
  // The cumulative ACK frees all but 4 records: the tree goes, the next search walks.
  ack(1600);
  EXPECT_FALSE(map.indexed());
  EXPECT_EQ(map.records(), 4u);
  EXPECT_EQ(map.find(at(1750)), &*std::next(map.by_seq().begin()));
  EXPECT_TRUE(map_consistent(map, 400));
}

// At the per-connection cap (10 records, past the walked size): new data and splits are refused
// and counted, the tree stays in step with the list.
TEST_F(SentMapTest, Index_AtTheRecordCap_SplitsRefusedAndCounted) {
  reset(64, 10);
  uint64_t refusals = 0;
  pool->count_refusals_in(&refusals);
  for (uint32_t k = 0; k < 12; ++k) send(k * 100, (k + 1) * 100, k + 1);
  EXPECT_EQ(map.records(), 10u);
  EXPECT_EQ(refusals, 2u);
  EXPECT_EQ(recs().back(), (Rec{900, 1200, 0}));  // the tail took the last two sends
  EXPECT_EQ(sack(420, 480), 0u);  // needs two splits: none to be had
  EXPECT_TRUE(map.indexed());
  EXPECT_EQ(refusals, 3u);
  EXPECT_EQ(sack(400, 500), 100u);  // a whole record needs none
  EXPECT_TRUE(map_consistent(map, 1200));
  // A freed record makes the split possible again, inserted into the tree beside its lower part.
  ack(100);
  EXPECT_EQ(sack(150, 200), 50u);
  EXPECT_EQ(recs()[0], (Rec{100, 150, 0}));
  EXPECT_EQ(recs()[1], (Rec{150, 200, S}));
  EXPECT_TRUE(map.indexed());
  EXPECT_TRUE(map_consistent(map, 1100));
}

}  // namespace
}  // namespace dtcp::tcp::test
