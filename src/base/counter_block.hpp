// A block of uint64_t counters generated from an X(name, description) list, so every layer's
// counters are declared, summed and printed from one list. Each block fills whole cache lines,
// written only by the lcore that owns it.
#pragma once

#include <cstdint>

#define DTCP_COUNTER_FIELD(name, description) uint64_t name = 0;
#define DTCP_COUNTER_ADD(name, description) name += other.name;

// Defines `struct Name` with one field per entry of LIST and operator+=.
#define DTCP_COUNTER_BLOCK(Name, LIST)          \
  struct alignas(64) Name {                     \
    LIST(DTCP_COUNTER_FIELD)                    \
    Name& operator+=(const Name& other) {       \
      LIST(DTCP_COUNTER_ADD)                    \
      return *this;                             \
    }                                           \
  }
