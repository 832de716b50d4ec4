// SeqNum / SeqLen: RFC 9293 §3.4 sequence space, compared by signed 32-bit difference.
#include "base/seq.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace dtcp {
namespace {

constexpr uint32_t kHalf = 0x8000'0000u;  // 2^31
constexpr uint32_t kMax = 0xFFFF'FFFFu;   // 2^32 - 1

TEST(SeqNum, PlainOrderWithoutWrap) {
  EXPECT_LT(SeqNum(1), SeqNum(2));
  EXPECT_LE(SeqNum(1), SeqNum(2));
  EXPECT_LE(SeqNum(2), SeqNum(2));
  EXPECT_GT(SeqNum(2), SeqNum(1));
  EXPECT_GE(SeqNum(2), SeqNum(2));
  EXPECT_FALSE(SeqNum(2) < SeqNum(2));
  EXPECT_FALSE(SeqNum(2) > SeqNum(2));
  EXPECT_EQ(SeqNum(7), SeqNum(7));
  EXPECT_NE(SeqNum(7), SeqNum(8));
}

TEST(SeqNum, AcrossTwoTo32_MaxIsBeforeZero) {
  EXPECT_LT(SeqNum(kMax), SeqNum(0));
  EXPECT_GT(SeqNum(0), SeqNum(kMax));
  EXPECT_LT(SeqNum(kMax - 10), SeqNum(10));
  EXPECT_GE(SeqNum(10), SeqNum(kMax - 10));
  // A raw unsigned comparison says the opposite; that is the bug the type exists to prevent.
  EXPECT_GT(kMax, 0u);
}

TEST(SeqNum, AroundTwoTo31_OrderFlipsAtHalfTheSpace) {
  // Just under 2^31 ahead is "after"; just over 2^31 ahead is "before" (it wrapped).
  EXPECT_LT(SeqNum(0), SeqNum(kHalf - 1));
  EXPECT_GT(SeqNum(0), SeqNum(kHalf + 1));
  EXPECT_LT(SeqNum(kHalf - 1), SeqNum(kHalf));
  EXPECT_LT(SeqNum(kHalf), SeqNum(kHalf + 1));
  EXPECT_LT(SeqNum(100), SeqNum(100 + kHalf - 1));
  EXPECT_GT(SeqNum(100), SeqNum(100 + kHalf + 1));
}

TEST(SeqNum, ExactlyTwoTo31Apart_BothCompareLess_AsDocumented) {
  // RFC 1982 leaves this undefined; pinned so a change of behaviour is noticed.
  EXPECT_LT(SeqNum(0), SeqNum(kHalf));
  EXPECT_LT(SeqNum(kHalf), SeqNum(0));
}

TEST(SeqNum, AddLength_WrapsModulo2To32) {
  EXPECT_EQ(SeqNum(kMax) + SeqLen(1), SeqNum(0));
  EXPECT_EQ(SeqNum(kMax - 1) + SeqLen(5), SeqNum(3));
  EXPECT_EQ(SeqNum(3) - SeqLen(5), SeqNum(kMax - 1));
  SeqNum s(kMax);
  s += SeqLen(2);
  EXPECT_EQ(s, SeqNum(1));
  s -= SeqLen(2);
  EXPECT_EQ(s, SeqNum(kMax));
  EXPECT_GT(SeqNum(kMax) + SeqLen(1), SeqNum(kMax));
}

TEST(SeqNum, Difference_IsForwardDistanceModulo2To32) {
  EXPECT_EQ(SeqNum(10) - SeqNum(4), SeqLen(6));
  EXPECT_EQ(SeqNum(3) - SeqNum(kMax - 1), SeqLen(5));
  EXPECT_EQ(SeqNum(0) - SeqNum(kMax), SeqLen(1));
  EXPECT_EQ(SeqNum(5) - SeqNum(5), SeqLen(0));
}

TEST(SeqNum, DefaultIsZero) {
  EXPECT_EQ(SeqNum(), SeqNum(0));
  EXPECT_EQ(SeqLen(), SeqLen(0));
}

TEST(SeqNum, MaxMin_PickByWrappedOrder) {
  EXPECT_EQ(seq_max(SeqNum(1), SeqNum(2)), SeqNum(2));
  EXPECT_EQ(seq_min(SeqNum(1), SeqNum(2)), SeqNum(1));
  EXPECT_EQ(seq_max(SeqNum(kMax), SeqNum(3)), SeqNum(3));
  EXPECT_EQ(seq_min(SeqNum(kMax), SeqNum(3)), SeqNum(kMax));
  EXPECT_EQ(seq_max(SeqNum(3), SeqNum(kMax)), SeqNum(3));
  EXPECT_EQ(seq_min(SeqNum(3), SeqNum(kMax)), SeqNum(kMax));
  EXPECT_EQ(seq_max(SeqNum(9), SeqNum(9)), SeqNum(9));
  EXPECT_EQ(seq_min(SeqNum(9), SeqNum(9)), SeqNum(9));
}

TEST(SeqInWindow, LenZero_NeverContains) {
  EXPECT_FALSE(seq_in_window(SeqNum(5), SeqNum(5), SeqLen(0)));
  EXPECT_FALSE(seq_in_window(SeqNum(4), SeqNum(5), SeqLen(0)));
  EXPECT_FALSE(seq_in_window(SeqNum(6), SeqNum(5), SeqLen(0)));
}

TEST(SeqInWindow, Edges_StartIncludedEndExcluded) {
  EXPECT_TRUE(seq_in_window(SeqNum(100), SeqNum(100), SeqLen(10)));
  EXPECT_TRUE(seq_in_window(SeqNum(109), SeqNum(100), SeqLen(10)));
  EXPECT_FALSE(seq_in_window(SeqNum(110), SeqNum(100), SeqLen(10)));
  EXPECT_FALSE(seq_in_window(SeqNum(99), SeqNum(100), SeqLen(10)));
  EXPECT_TRUE(seq_in_window(SeqNum(100), SeqNum(100), SeqLen(1)));
  EXPECT_FALSE(seq_in_window(SeqNum(101), SeqNum(100), SeqLen(1)));
}

TEST(SeqInWindow, WindowSpanningWrap) {
  const SeqNum start(kMax - 4);  // window covers kMax-4 .. kMax, 0 .. 4
  const SeqLen len(10);
  EXPECT_FALSE(seq_in_window(SeqNum(kMax - 5), start, len));
  EXPECT_TRUE(seq_in_window(SeqNum(kMax - 4), start, len));
  EXPECT_TRUE(seq_in_window(SeqNum(kMax), start, len));
  EXPECT_TRUE(seq_in_window(SeqNum(0), start, len));
  EXPECT_TRUE(seq_in_window(SeqNum(4), start, len));
  EXPECT_FALSE(seq_in_window(SeqNum(5), start, len));
}

TEST(SeqInWindow, HugeWindow_ExactBeyondTwoTo31) {
  // The forward-distance test holds for any length, unlike a pair of < comparisons.
  EXPECT_TRUE(seq_in_window(SeqNum(kHalf + 10), SeqNum(0), SeqLen(kMax)));
  EXPECT_TRUE(seq_in_window(SeqNum(kMax - 1), SeqNum(0), SeqLen(kMax)));
  EXPECT_FALSE(seq_in_window(SeqNum(kMax), SeqNum(0), SeqLen(kMax)));
}

TEST(SeqLen, ArithmeticAndPlainUnsignedOrder) {
  EXPECT_EQ(SeqLen(3) + SeqLen(4), SeqLen(7));
  EXPECT_EQ(SeqLen(9) - SeqLen(4), SeqLen(5));
  SeqLen l(10);
  l += SeqLen(5);
  EXPECT_EQ(l.value(), 15u);
  l -= SeqLen(15);
  EXPECT_EQ(l, SeqLen(0));
  // A length is not on the circle: 2^31 + 1 is simply larger than 1.
  EXPECT_LT(SeqLen(1), SeqLen(kHalf + 1));
  EXPECT_GT(SeqLen(kMax), SeqLen(0));
}

TEST(SeqNum, Constexpr_UsableAtCompileTime) {
  static_assert(SeqNum(kMax) < SeqNum(0));
  static_assert(SeqNum(kMax) + SeqLen(1) == SeqNum(0));
  static_assert(seq_in_window(SeqNum(1), SeqNum(kMax), SeqLen(3)));
  static_assert(seq_max(SeqNum(kMax), SeqNum(0)) == SeqNum(0));
}

TEST(SeqNum, Print_ShowsKindAndValue) {
  std::ostringstream os;
  os << SeqNum(42) << ' ' << SeqLen(7);
  EXPECT_EQ(os.str(), "seq 42 len 7");
}

}  // namespace
}  // namespace dtcp
