// A log-linear latency histogram in the manner of HdrHistogram: values below 2*kSubBuckets are
// counted exactly; above, each power-of-two range [2^e, 2^(e+1)) is split into kSubBuckets equal
// buckets, so a bucket is at most 1/kSubBuckets (0.78 %) of the values it holds wide. Memory is
// fixed (one array of counters, no allocation after construction), recording is a few
// instructions, and two histograms merge by adding their counters.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace dtcp::loadgen {

class Histogram {
 public:
  static constexpr unsigned kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
  // Indexes 0..2*kSubBuckets-1 are exact; each further power of two adds kSubBuckets.
  static constexpr size_t kBucketCount = (64 - kSubBucketBits + 1) * kSubBuckets;

  Histogram() : counts_(new uint64_t[kBucketCount]()) {}
  Histogram(const Histogram& other);
  Histogram& operator=(const Histogram& other);
  Histogram(Histogram&&) noexcept = default;
  Histogram& operator=(Histogram&&) noexcept = default;

  void record(uint64_t value) { record(value, 1); }
  void record(uint64_t value, uint64_t times) {
    counts_[index_of(value)] += times;
    count_ += times;
    sum_ += static_cast<unsigned __int128>(value) * times;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  // Adds every value recorded in `other`.
  void merge(const Histogram& other);
  void reset();

  uint64_t count() const { return count_; }
  // 0 when empty.
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // The nearest-rank percentile (the value at rank ceil(p/100 * count), 1-based) to within the
  // bucket resolution: the highest value its bucket can hold, capped at max(), so a percentile is
  // never reported below the true one and at most 1/kSubBuckets above it. 0 when empty;
  // p is clamped to [0, 100] (p = 0 gives min()).
  uint64_t percentile(double p) const;

  // Bucket arithmetic, public for tests.
  static size_t index_of(uint64_t value) {
    if (value < 2 * kSubBuckets) return static_cast<size_t>(value);
    const unsigned shift = static_cast<unsigned>(std::bit_width(value)) - 1 - kSubBucketBits;
    return static_cast<size_t>(shift * kSubBuckets + (value >> shift));
  }
  static uint64_t lowest_in_bucket(size_t index) {
    if (index < 2 * kSubBuckets) return index;
    const unsigned shift = static_cast<unsigned>(index / kSubBuckets) - 1;
    return (index - shift * kSubBuckets) << shift;
  }
  static uint64_t highest_in_bucket(size_t index) {
    if (index < 2 * kSubBuckets) return index;
    const unsigned shift = static_cast<unsigned>(index / kSubBuckets) - 1;
    return lowest_in_bucket(index) + ((uint64_t{1} << shift) - 1);
  }

 private:
  std::unique_ptr<uint64_t[]> counts_;
  uint64_t count_ = 0;
  unsigned __int128 sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace dtcp::loadgen
