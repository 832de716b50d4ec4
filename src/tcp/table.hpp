// Per-shard hash tables keyed by 4-tuple: Boost.Intrusive unordered_set with the hook inside the
// element (TCB or TIME-WAIT record) and a bucket array sized once at construction, so neither
// insert nor lookup allocates.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <memory>

#include <boost/intrusive/unordered_set.hpp>

#include "tcp/isn.hpp"
#include "tcp/tuple.hpp"

namespace dtcp::tcp {

template <class T>
class TupleTable {
 public:
  // `capacity`: how many elements the table may hold; buckets are the next power of two.
  TupleTable(size_t capacity, const SecretKeys& keys)
      : bucket_count_(std::bit_ceil(std::max<size_t>(capacity, 16))),
        buckets_(new BucketType[bucket_count_]),
        set_(typename Set::bucket_traits(buckets_.get(), bucket_count_), Hash{&keys}, Equal{}),
        keys_(&keys) {}
  ~TupleTable() { set_.clear(); }

  // The bucket array a table of `capacity` allocates.
  static size_t bucket_bytes(size_t capacity) {
    return std::bit_ceil(std::max<size_t>(capacity, 16)) * sizeof(BucketType);
  }

  T* find(const FourTuple& t) { return find(t, keys_->table_hash(t)); }
  // `hash`: keys.table_hash(t), computed once for both of a shard's tables.
  T* find(const FourTuple& t, size_t hash) {
    auto it = set_.find(t, KnownHash{hash}, KeyEqual{});
    return it == set_.end() ? nullptr : &*it;
  }
  bool contains(const FourTuple& t) const {
    return set_.find(t, KeyHash{keys_}, KeyEqual{}) != set_.end();
  }
  void insert(T& e) { insert(e, keys_->table_hash(e.tuple)); }
  // `hash`: keys.table_hash(e.tuple), already computed by the caller (the segment's lookup, or
  // the control block's own for its TIME-WAIT record). An element that keeps its hash
  // (Tcb::tuple_hash) remembers it here, where the table's hasher reads it: its insert computes
  // none, and its TIME-WAIT record's insert takes it (the same key). Erase finds the bucket by
  // walking to the list's end node (Boost 1.74), without a hash.
  void insert(T& e, size_t hash) {
    assert(hash == keys_->table_hash(e.tuple));
    if constexpr (kKeepsHash) {
      e.tuple_hash = hash;
      set_.insert(e);
    } else {
      typename Set::insert_commit_data commit;
      if (set_.insert_unique_check(e.tuple, KnownHash{hash}, KeyEqual{}, commit).second) set_.insert_unique_commit(e, commit);
    }
  }
  void erase(T& e) { set_.erase(set_.iterator_to(e)); }
  size_t size() const { return set_.size(); }
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const T& e : set_) fn(e);
  }

 private:
  static constexpr bool kKeepsHash = requires(T& e) { e.tuple_hash = size_t{}; };
  struct Hash {
    const SecretKeys* keys;
    size_t operator()(const T& e) const {
      if constexpr (kKeepsHash) return e.tuple_hash;
      else return keys->table_hash(e.tuple);
    }
  };
  struct Equal {
    bool operator()(const T& a, const T& b) const { return a.tuple == b.tuple; }
  };
  struct KeyHash {
    const SecretKeys* keys;
    size_t operator()(const FourTuple& t) const { return keys->table_hash(t); }
  };
  struct KnownHash {
    size_t hash;
    size_t operator()(const FourTuple&) const { return hash; }
  };
  struct KeyEqual {
    bool operator()(const FourTuple& t, const T& e) const { return t == e.tuple; }
    bool operator()(const T& e, const FourTuple& t) const { return t == e.tuple; }
  };
  using Set = boost::intrusive::unordered_set<
      T, boost::intrusive::member_hook<T, decltype(T::table_hook), &T::table_hook>,
      boost::intrusive::hash<Hash>, boost::intrusive::equal<Equal>, boost::intrusive::power_2_buckets<true>,
      boost::intrusive::constant_time_size<true>>;
  using BucketType = typename Set::bucket_type;

  size_t bucket_count_;
  std::unique_ptr<BucketType[]> buckets_;
  Set set_;
  const SecretKeys* keys_;
};

}  // namespace dtcp::tcp
