#include "loadgen/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dtcp::loadgen {

Histogram::Histogram(const Histogram& other) : Histogram() { *this = other; }

Histogram& Histogram::operator=(const Histogram& other) {
  if (this == &other) return *this;
  if (!counts_) counts_.reset(new uint64_t[kBucketCount]());
  std::memcpy(counts_.get(), other.counts_.get(), kBucketCount * sizeof(uint64_t));
  count_ = other.count_;
  sum_ = other.sum_;
  min_ = other.min_;
  max_ = other.max_;
  return *this;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < kBucketCount; i++) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() {
  std::memset(counts_.get(), 0, kBucketCount * sizeof(uint64_t));
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  if (!(p > 0)) return min();
  p = std::min(p, 100.0);
  // Nearest rank; the epsilon keeps 99.9 % of 1000 at rank 999 despite binary fractions.
  const double exact = p / 100.0 * static_cast<double>(count_);
  uint64_t rank = static_cast<uint64_t>(std::ceil(exact - 1e-9));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; i++) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_in_bucket(i), max_);
  }
  return max_;
}

}  // namespace dtcp::loadgen
